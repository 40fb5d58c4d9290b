//! Golden cases for the Knative Pod Autoscaler: load in, desired pods out. Each case states
//! the arithmetic that gives its answer.

use runai_sched::autoscale::{Kpa, KpaConfig, KpaInput, MetricWindow};

/// A window holding `value(second)` for every second in `seconds`.
fn window(seconds: std::ops::Range<u64>, value: impl Fn(u64) -> f64) -> MetricWindow {
    let mut w = MetricWindow::new(3_600);
    for s in seconds {
        w.record(s, value(s));
    }
    w
}

fn config(target: f64) -> KpaConfig {
    KpaConfig {
        target,
        total: target,
        ..KpaConfig::default()
    }
}

/// Runs one decision for a fresh KPA that has been running since second 0 with 1 ready pod.
fn decide(
    config: KpaConfig,
    metric: &MetricWindow,
    now_s: u64,
    ready_pods: u32,
) -> runai_sched::autoscale::Decision {
    let mut kpa = Kpa::new(config);
    kpa.decide(KpaInput {
        now_s: 0,
        ready_pods: 1,
        metric: &MetricWindow::new(1),
    });
    kpa.decide(KpaInput {
        now_s,
        ready_pods,
        metric,
    })
}

#[test]
fn steady_load_gives_load_over_target() {
    // 50 in flight over 60 s, target 10 per pod: ceil(50 / 10) = 5.
    let d = decide(config(10.0), &window(0..120, |_| 50.0), 119, 5);
    assert_eq!(d.desired, 5);
    assert!(!d.panic);
    assert!(
        d.reason
            .starts_with("stable: 60s value 50.0 / target 10 = 5 pods"),
        "{}",
        d.reason
    );
}

#[test]
fn growth_below_the_panic_threshold_scales_on_the_stable_window() {
    // 80 / 10 = 8 pods wanted; 8 / 5 ready = 1.6 < 2: no panic.
    let d = decide(config(10.0), &window(0..120, |_| 80.0), 119, 5);
    assert_eq!((d.desired, d.panic), (8, false));
}

#[test]
fn a_burst_enters_panic_and_scales_on_the_panic_window() {
    // Last 6 s at 100, before that 10. Stable: (54 x 10 + 6 x 100) / 60 = 19 -> 2 pods.
    // Panic: 100 / 10 = 10 pods >= 2 x 2 ready: panic, want 10.
    let metric = window(0..120, |s| if s >= 114 { 100.0 } else { 10.0 });
    let d = decide(config(10.0), &metric, 119, 2);
    assert_eq!((d.desired, d.panic), (10, true));
    assert!(
        d.reason
            .starts_with("panic: 6s value 100.0 / target 10 = 10 pods >= 2x ready 2"),
        "{}",
        d.reason
    );
}

#[test]
fn panic_never_scales_down_and_ends_after_a_calm_stable_window() {
    let mut kpa = Kpa::new(config(10.0));
    let metric = window(0..120, |s| if s >= 114 { 100.0 } else { 10.0 });
    kpa.decide(KpaInput {
        now_s: 0,
        ready_pods: 1,
        metric: &MetricWindow::new(1),
    });
    assert_eq!(
        kpa.decide(KpaInput {
            now_s: 119,
            ready_pods: 2,
            metric: &metric
        })
        .desired,
        10
    );
    // The burst stops; 10 pods are ready. Panic holds 10 for a stable window.
    let calm = window(0..400, |s| if (114..120).contains(&s) { 100.0 } else { 10.0 });
    let held = kpa.decide(KpaInput {
        now_s: 150,
        ready_pods: 10,
        metric: &calm,
    });
    assert_eq!((held.desired, held.panic), (10, true));
    // More than 60 s after the last over-threshold tick: back to the stable window,
    // 10 / 10 = 1 pod, limited by the scale-down rate to 10 / 2 = 5.
    let after = kpa.decide(KpaInput {
        now_s: 181,
        ready_pods: 10,
        metric: &calm,
    });
    assert_eq!((after.desired, after.panic), (5, false));
}

#[test]
fn scale_up_and_down_rates_limit_each_step() {
    let up = KpaConfig {
        max_scale_up_rate: 2.0,
        ..config(10.0)
    };
    // 1,000 / 10 = 100 wanted, but at most ceil(2 x 2) = 4 from 2 ready.
    assert_eq!(decide(up, &window(0..120, |_| 1_000.0), 119, 2).desired, 4);
    // 10 / 10 = 1 wanted, but at least floor(10 / 2) = 5 from 10 ready.
    assert_eq!(
        decide(config(10.0), &window(0..120, |_| 10.0), 119, 10).desired,
        5
    );
}

#[test]
fn activation_scale_is_the_smallest_non_zero_scale() {
    let c = KpaConfig {
        activation_scale: 3,
        ..config(10.0)
    };
    assert_eq!(decide(c.clone(), &window(0..120, |_| 5.0), 119, 1).desired, 3);
    // With no load at all it does not apply: after a stable window and the grace period
    // without demand, the revision goes to zero.
    assert_eq!(decide(c, &window(0..0, |_| 0.0), 119, 1).desired, 0);
}

#[test]
fn scale_down_delay_keeps_the_highest_recent_decision() {
    let mut kpa = Kpa::new(KpaConfig {
        scale_down_delay_s: 10,
        max_scale_down_rate: 1_000.0,
        ..config(10.0)
    });
    let metric = window(0..200, |s| if s < 100 { 50.0 } else { 0.0 });
    kpa.decide(KpaInput {
        now_s: 0,
        ready_pods: 1,
        metric: &MetricWindow::new(1),
    });
    assert_eq!(
        kpa.decide(KpaInput {
            now_s: 99,
            ready_pods: 5,
            metric: &metric
        })
        .desired,
        5
    );
    // At 104 the stable window still averages (55 s x 50) / 60 = 45.8 -> 5.
    assert_eq!(
        kpa.decide(KpaInput {
            now_s: 104,
            ready_pods: 5,
            metric: &metric
        })
        .desired,
        5
    );
    // At 112: (47 s x 50) / 60 = 39.2 -> 4, but the 5 decided at 104 is within 10 s.
    let held = kpa.decide(KpaInput {
        now_s: 112,
        ready_pods: 5,
        metric: &metric,
    });
    assert_eq!(held.desired, 5, "{}", held.reason);
    assert!(
        held.reason.contains("scale-down delay keeps 5"),
        "{}",
        held.reason
    );
    // At 116 the last 10 s decided 4 at most.
    assert_eq!(
        kpa.decide(KpaInput {
            now_s: 116,
            ready_pods: 5,
            metric: &metric
        })
        .desired,
        4
    );
}

#[test]
fn burst_capacity_decides_whether_the_activator_stays_in_the_path() {
    let c = KpaConfig {
        target: 70.0,
        total: 100.0,
        ..KpaConfig::default()
    };
    let metric = window(0..120, |_| 50.0);
    // 2 ready x 100 - 211 - 50 = -61 < 0: the activator buffers.
    let d = decide(c.clone(), &metric, 119, 2);
    assert_eq!(d.excess_burst_capacity, -61.0);
    assert!(d.activator_in_path);
    // 4 ready x 100 - 211 - 50 = 139: traffic goes straight to the pods.
    let d = decide(c.clone(), &metric, 119, 4);
    assert_eq!(d.excess_burst_capacity, 139.0);
    assert!(!d.activator_in_path);
    // -1 keeps it in the path; 0 only at zero scale.
    assert!(
        decide(
            KpaConfig {
                target_burst_capacity: -1.0,
                ..c
            },
            &metric,
            119,
            4
        )
        .activator_in_path
    );
    assert!(
        !decide(
            KpaConfig {
                target_burst_capacity: 0.0,
                ..c
            },
            &metric,
            119,
            2
        )
        .activator_in_path
    );
}

#[test]
fn scale_to_zero_waits_for_a_stable_window_and_the_grace_period() {
    let idle = window(0..0, |_| 0.0);
    let mut kpa = Kpa::new(config(10.0));
    // Active for less than a stable window: hold one pod.
    assert_eq!(
        kpa.decide(KpaInput {
            now_s: 0,
            ready_pods: 1,
            metric: &idle
        })
        .desired,
        1
    );
    assert_eq!(
        kpa.decide(KpaInput {
            now_s: 40,
            ready_pods: 1,
            metric: &idle
        })
        .desired,
        1
    );
    // After 60 s with no demand at all (grace 30 s): zero.
    let d = kpa.decide(KpaInput {
        now_s: 61,
        ready_pods: 1,
        metric: &idle,
    });
    assert_eq!(d.desired, 0, "{}", d.reason);
    assert!(d.activator_in_path);

    // A retention period of 120 s keeps the last pod longer.
    let mut kpa = Kpa::new(KpaConfig {
        scale_to_zero_retention_s: 120,
        ..config(10.0)
    });
    kpa.decide(KpaInput {
        now_s: 0,
        ready_pods: 1,
        metric: &idle,
    });
    assert_eq!(
        kpa.decide(KpaInput {
            now_s: 100,
            ready_pods: 1,
            metric: &idle
        })
        .desired,
        1
    );
    assert_eq!(
        kpa.decide(KpaInput {
            now_s: 121,
            ready_pods: 1,
            metric: &idle
        })
        .desired,
        0
    );

    // With scale to zero off, one pod stays.
    let mut kpa = Kpa::new(KpaConfig {
        enable_scale_to_zero: false,
        ..config(10.0)
    });
    kpa.decide(KpaInput {
        now_s: 0,
        ready_pods: 1,
        metric: &idle,
    });
    assert_eq!(
        kpa.decide(KpaInput {
            now_s: 500,
            ready_pods: 1,
            metric: &idle
        })
        .desired,
        1
    );
}

#[test]
fn initial_scale_and_bounds() {
    let idle = window(0..0, |_| 0.0);
    let mut kpa = Kpa::new(KpaConfig {
        initial_scale: 3,
        ..config(10.0)
    });
    // Until 3 pods have been ready, at least 3 are wanted.
    assert_eq!(
        kpa.decide(KpaInput {
            now_s: 0,
            ready_pods: 0,
            metric: &idle
        })
        .desired,
        3
    );
    assert_eq!(
        kpa.decide(KpaInput {
            now_s: 10,
            ready_pods: 2,
            metric: &idle
        })
        .desired,
        3
    );
    // Once reached, an idle revision shrinks (at most by half per step, then grace).
    kpa.decide(KpaInput {
        now_s: 20,
        ready_pods: 3,
        metric: &idle,
    });
    assert_eq!(
        kpa.decide(KpaInput {
            now_s: 30,
            ready_pods: 3,
            metric: &idle
        })
        .desired,
        1
    );

    let busy = window(0..120, |_| 100.0);
    assert_eq!(
        decide(
            KpaConfig {
                max_scale: 4,
                ..config(10.0)
            },
            &busy,
            119,
            10
        )
        .desired,
        4
    );
    assert_eq!(
        decide(
            KpaConfig {
                min_scale: 2,
                ..config(10.0)
            },
            &idle,
            119,
            1
        )
        .desired,
        2
    );
}

#[test]
fn a_fresh_autoscaler_with_pods_running_starts_in_panic_and_holds_them() {
    let mut kpa = Kpa::new(config(10.0));
    let light = window(0..10, |_| 5.0);
    let d = kpa.decide(KpaInput {
        now_s: 9,
        ready_pods: 6,
        metric: &light,
    });
    assert_eq!((d.desired, d.panic), (6, true));
}

mod runai_semantics {
    use runai_core::spec::{AutoScaling, Metric};
    use runai_sched::autoscale::{MetricWindow, RunaiAutoscaler, WorkloadMetrics};

    use super::window;

    fn scaler(spec: &AutoScaling) -> RunaiAutoscaler {
        RunaiAutoscaler::new(&spec.resolve())
    }

    fn spec(metric: Metric, threshold: i32, min: i32, max: i32) -> AutoScaling {
        AutoScaling {
            min_replicas: Some(min),
            max_replicas: Some(max),
            metric: Some(metric),
            metric_threshold: Some(threshold),
            ..AutoScaling::default()
        }
    }

    #[test]
    fn throughput_scales_on_requests_per_second() {
        let mut s = scaler(&spec(Metric::Throughput, 20, 1, 10));
        let empty = MetricWindow::new(60);
        let rps = window(0..120, |_| 70.0);
        let m = WorkloadMetrics {
            concurrency: &empty,
            throughput: &rps,
            latency_ms: &empty,
            custom: None,
        };
        // 70 req/s / (20 x 70 %) = 5.
        assert_eq!(s.decide(119, 5, m).desired, 5);
    }

    #[test]
    fn a_hard_concurrency_limit_caps_the_target() {
        let mut s = scaler(&AutoScaling {
            concurrency_hard_limit: Some(4),
            ..spec(Metric::Concurrency, 10, 1, 20)
        });
        let empty = MetricWindow::new(60);
        let load = window(0..120, |_| 28.0);
        let m = WorkloadMetrics {
            concurrency: &load,
            throughput: &empty,
            latency_ms: &empty,
            custom: None,
        };
        // Target min(10, 4) x 70 % = 2.8: 28 / 2.8 = 10.
        assert_eq!(s.decide(119, 10, m).desired, 10);
    }

    #[test]
    fn latency_scales_by_ratio_with_tolerance_and_stabilization() {
        let mut s = scaler(&spec(Metric::Latency, 200, 1, 10));
        let empty = MetricWindow::new(60);
        let slow = window(0..60, |_| 300.0);
        let m = |latency| WorkloadMetrics {
            concurrency: &empty,
            throughput: &empty,
            latency_ms: latency,
            custom: None,
        };
        // 300 / 200 = 1.5 on 4 replicas: 6.
        let d = s.decide(59, 4, m(&slow));
        assert_eq!(d.desired, 6, "{}", d.reason);
        // 210 / 200 = 1.05 is inside the 10 % band: no change from 6 ready.
        let near = window(0..200, |s| if s < 60 { 300.0 } else { 210.0 });
        assert_eq!(s.decide(180, 6, m(&near)).desired, 6);
        // 100 / 200 = 0.5 would halve, but the stabilization window holds 6.
        let fast = window(0..400, |s| if s < 60 { 300.0 } else { 100.0 });
        let d = s.decide(300, 6, m(&fast));
        assert_eq!(d.desired, 6);
        assert!(d.reason.contains("stabilization keeps 6"), "{}", d.reason);
        // After 300 s without a higher decision: ceil(6 x 0.5) = 3.
        assert_eq!(s.decide(700, 6, m(&window(400..700, |_| 100.0))).desired, 3);
    }

    #[test]
    fn custom_metrics_read_the_custom_window() {
        let mut s = scaler(&spec(Metric::from("vllm:num_requests_waiting"), 5, 1, 10));
        let empty = MetricWindow::new(60);
        let waiting = window(0..60, |_| 15.0);
        let m = WorkloadMetrics {
            concurrency: &empty,
            throughput: &empty,
            latency_ms: &empty,
            custom: Some(&waiting),
        };
        assert_eq!(s.decide(59, 2, m).desired, 6);
        let none = WorkloadMetrics { custom: None, ..m };
        assert!(s.decide(61, 2, none).reason.starts_with("no values for metric"));
    }

    #[test]
    fn equal_bounds_fix_the_replicas() {
        let mut s = scaler(&AutoScaling {
            min_replicas: Some(3),
            max_replicas: Some(3),
            ..AutoScaling::default()
        });
        let empty = MetricWindow::new(60);
        let m = WorkloadMetrics {
            concurrency: &empty,
            throughput: &empty,
            latency_ms: &empty,
            custom: None,
        };
        assert_eq!(s.decide(0, 0, m).desired, 3);
    }

    #[test]
    fn zero_to_one_follows_network_activity() {
        let mut s = scaler(&AutoScaling {
            min_replicas: Some(0),
            max_replicas: Some(1),
            ..AutoScaling::default()
        });
        let empty = MetricWindow::new(60);
        let request = window(100..101, |_| 1.0);
        let m = |c| WorkloadMetrics {
            concurrency: c,
            throughput: &empty,
            latency_ms: &empty,
            custom: None,
        };
        assert_eq!(
            s.decide(0, 0, m(&empty)).desired,
            1,
            "initial replicas default to 1"
        );
        assert_eq!(s.decide(70, 1, m(&empty)).desired, 0);
        // A request arrives (the activator reports it): one replica.
        assert_eq!(s.decide(100, 0, m(&request)).desired, 1);
        // Quiet for a stable window plus grace: back to zero.
        assert_eq!(s.decide(200, 1, m(&request)).desired, 0);
    }
}
