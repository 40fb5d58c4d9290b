//! The LLM serving simulator and the LLM-aware autoscaler: behaviour on synthetic load with
//! known answers, and on the shared Azure traces when they are present.

use runai_sched::autoscale::{KpaConfig, LlmAutoscaler, LlmPolicyConfig, LlmSignals};
use runai_sched::sim::{KpaFleet, LlmRequest, SimConfig, StaticFleet, parse_azure_trace, simulate};

/// `rate` requests per second for `seconds`, starting at `start_s`, of `prompt` prompt tokens.
fn steady(start_s: f64, seconds: u32, rate: u32, prompt: u32) -> Vec<LlmRequest> {
    (0..seconds * rate)
        .map(|i| LlmRequest {
            arrival_s: start_s + f64::from(i) / f64::from(rate),
            prompt_tokens: prompt,
            output_tokens: 100,
        })
        .collect()
}

#[test]
fn an_undersized_fleet_misses_the_objective_and_a_sized_one_meets_it() {
    // 20 req/s x 2,000 prompt tokens = 40,000 tokens/s: two replicas' prefill capacity.
    let requests = steady(0.0, 120, 20, 2_000);
    let one = simulate(&requests, &SimConfig::default(), &mut StaticFleet(1));
    let three_config = SimConfig {
        initial_replicas: 3,
        ..SimConfig::default()
    };
    let three = simulate(&requests, &three_config, &mut StaticFleet(3));
    assert!(one.slo_attainment < 0.5, "{one:?}");
    assert_eq!(three.slo_attainment, 1.0, "{three:?}");
    assert!(one.p99_ttft_s > 10.0 * three.p99_ttft_s, "{one:?}");
    assert_eq!(one.requests, requests.len());
    assert_eq!(three.cold_starts, 0);
}

#[test]
fn the_gateway_refuses_what_its_queue_cannot_hold() {
    let requests = steady(0.0, 10, 100, 20_000);
    let config = SimConfig {
        queue_limit: 50,
        ..SimConfig::default()
    };
    let report = simulate(&requests, &config, &mut StaticFleet(1));
    assert!(report.rejected > 0, "{report:?}");
    assert!(report.slo_attainment < 1.0);
}

#[test]
fn the_llm_policy_scales_up_on_a_step_and_holds_before_scaling_down() {
    let mut scaler = LlmAutoscaler::new(LlmPolicyConfig::default());
    let tick = |now_s: f64, arrivals: u32| LlmSignals {
        now_s,
        ready: 1,
        arrivals,
        arrival_prompt_tokens: u64::from(arrivals) * 1_500,
        ..Default::default()
    };
    // Two minutes at 4 req/s (6,000 tokens/s): one replica.
    let mut now = 0.0;
    for _ in 0..60 {
        now += 2.0;
        let d = scaler.decide(&tick(now, 8));
        assert_eq!(d.desired, 1, "{d}");
    }
    // A step to 30 req/s (45,000 tokens/s) asks for three or more replicas within 30 s.
    let mut after_step = 0;
    for _ in 0..15 {
        now += 2.0;
        after_step = scaler.decide(&tick(now, 60)).desired;
    }
    assert!(after_step >= 3, "{after_step}");
    // Back to 4 req/s: the count never falls during the hold period, then falls to one.
    let high = after_step;
    let hold_s = LlmPolicyConfig::default().scale_down_hold_s;
    let calm_from = now;
    let mut held_seen = false;
    while now < calm_from + hold_s - 2.0 {
        now += 2.0;
        let d = scaler.decide(&tick(now, 8));
        assert!(d.desired >= high, "{d}");
        held_seen |= d.held_for_s.is_some();
    }
    assert!(held_seen);
    for _ in 0..200 {
        now += 2.0;
        scaler.decide(&tick(now, 8));
    }
    assert_eq!(scaler.decide(&tick(now + 2.0, 8)).desired, 1);
}

#[test]
fn the_llm_policy_adds_capacity_under_queueing_but_not_for_a_backlog_it_drains() {
    let config = LlmPolicyConfig::default();
    let mut scaler = LlmAutoscaler::new(config);
    let signals = |waiting: u32| LlmSignals {
        now_s: 100.0,
        ready: 2,
        waiting,
        arrivals: 20,
        arrival_prompt_tokens: 20 * 1_000,
        ttfts_s: vec![1.9; 20],
        ..Default::default()
    };
    let pressed = scaler.decide(&signals(5_000));
    assert!(pressed.pressure.is_some(), "{pressed}");
    assert!(pressed.desired > 2, "{pressed}");
    let mut calm = LlmAutoscaler::new(LlmPolicyConfig::default());
    let small = calm.decide(&signals(3));
    assert!(small.pressure.is_none(), "{small}");
}

#[test]
fn scale_to_zero_only_after_the_idle_period_and_back_on_demand() {
    let mut scaler = LlmAutoscaler::new(LlmPolicyConfig {
        min_replicas: 0,
        ..Default::default()
    });
    let busy = LlmSignals {
        now_s: 10.0,
        ready: 1,
        arrivals: 2,
        arrival_prompt_tokens: 2_000,
        ..Default::default()
    };
    assert_eq!(scaler.decide(&busy).desired, 1);
    let quiet = |now_s| LlmSignals {
        now_s,
        ready: 1,
        ..Default::default()
    };
    assert_eq!(scaler.decide(&quiet(60.0)).desired, 1);
    assert_eq!(scaler.decide(&quiet(200.0)).desired, 0);
    let waking = LlmSignals {
        now_s: 400.0,
        waiting: 1,
        arrivals: 1,
        arrival_prompt_tokens: 500,
        ..Default::default()
    };
    assert_eq!(scaler.decide(&waking).desired, 1);
}

#[test]
fn kpa_and_llm_policies_replay_the_conversation_trace() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data/azure-llm-2023/AzureLLMInferenceTrace_conv.csv");
    let Ok(text) = std::fs::read_to_string(&path) else {
        eprintln!("skipped: {} is not readable", path.display());
        return;
    };
    let requests = parse_azure_trace(&text).expect("the shared trace parses");
    assert_eq!(requests.len(), 19_366);
    let config = SimConfig {
        rate_scale: 4.0,
        ..SimConfig::default()
    };
    let kpa = simulate(
        &requests,
        &config,
        &mut KpaFleet::new(KpaConfig {
            min_scale: 1,
            ..KpaConfig::default()
        }),
    );
    let server = &config.server;
    let mut ours = LlmAutoscaler::new(LlmPolicyConfig {
        itl_at_target_s: server.inter_token_latency_s(64),
        ..LlmPolicyConfig::default()
    });
    let llm = simulate(&requests, &config, &mut ours);
    // Every request is accounted for, and at four times the rate the LLM-aware policy
    // misses fewer requests than the KPA's concurrency target.
    assert_eq!(kpa.rejected + llm.rejected, 0);
    assert!(llm.slo_attainment > kpa.slo_attainment, "{llm:?} vs {kpa:?}");
    assert!(llm.cold_starts > 0 && kpa.cold_starts > 0);
}

#[test]
fn the_warm_up_replays_the_start_without_measuring_it() {
    let light = steady(0.0, 300, 5, 1_000);
    let cold = simulate(&light, &SimConfig::default(), &mut StaticFleet(1));
    let warm_config = SimConfig {
        warmup_s: 100.0,
        ..SimConfig::default()
    };
    let warm = simulate(&light, &warm_config, &mut StaticFleet(1));
    assert_eq!(warm.requests, cold.requests);
    assert!(
        (warm.replica_seconds - cold.replica_seconds).abs() < 1.0,
        "{warm:?} vs {cold:?}"
    );

    // 60,000 prompt tokens/s need three replicas; from a cold start of one, the first
    // minute queues. After a warm-up on the same traffic the fleet is already there.
    let heavy = steady(0.0, 600, 30, 2_000);
    let policy = || LlmAutoscaler::new(LlmPolicyConfig::default());
    let cold = simulate(&heavy, &SimConfig::default(), &mut policy());
    let warm = simulate(
        &heavy,
        &SimConfig {
            warmup_s: 300.0,
            ..SimConfig::default()
        },
        &mut policy(),
    );
    assert!(cold.slo_attainment < 0.95, "{cold:?}");
    assert!(warm.slo_attainment > 0.99, "{warm:?}");
    assert_eq!(warm.cold_starts, 0, "{warm:?}");
}

#[test]
fn a_full_kv_cache_asks_for_replicas_however_light_the_prefill() {
    let mut scaler = LlmAutoscaler::new(LlmPolicyConfig::default());
    let decision = scaler.decide(&LlmSignals {
        now_s: 2.0,
        ready: 4,
        running: 900,
        kv_cache_use: 0.95,
        arrivals: 2,
        arrival_prompt_tokens: 400,
        ..Default::default()
    });
    // 0.95 x 4 / 0.8 = 4.75 -> 5 replicas.
    assert_eq!(decision.desired, 5, "{decision}");
    assert!(decision.to_string().contains("KV cache 4.75"), "{decision}");
}

#[test]
fn long_requests_wait_for_kv_cache_room() {
    // Two requests whose tokens do not fit one KV cache together: on one replica the second
    // waits at the gateway until the first finishes, so it is served only after it.
    let requests = vec![
        LlmRequest {
            arrival_s: 0.0,
            prompt_tokens: 1_000,
            output_tokens: 429_500,
        },
        LlmRequest {
            arrival_s: 0.1,
            prompt_tokens: 1_000,
            output_tokens: 10,
        },
    ];
    let report = simulate(&requests, &SimConfig::default(), &mut StaticFleet(1));
    // Decoding 429,500 tokens alone takes over 45 minutes; the second request's first token
    // comes after it.
    assert!(report.p99_ttft_s > 1_000.0, "{report:?}");
    let roomy = SimConfig {
        server: runai_sched::sim::ServerModel {
            kv_cache_tokens: 1_000_000,
            ..Default::default()
        },
        ..SimConfig::default()
    };
    let report = simulate(&requests, &roomy, &mut StaticFleet(1));
    assert!(report.p99_ttft_s < 1.0, "{report:?}");
}
