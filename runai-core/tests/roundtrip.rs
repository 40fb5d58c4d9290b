//! Every valid spec survives serialise -> strict parse unchanged, stays valid, and its
//! defaults are stable. Specs are generated valid by construction.

use proptest::prelude::*;
use runai_core::spec::{
    AuthorizationType, AutoScaling, Compute, EnvironmentVariable, GpuRequestType, Label, Metric,
    Preemptibility, PriorityClass, Probe, Probes, ServingConfiguration, ServingPort, ServingProtocol,
    Toleration, TolerationEffect, TolerationOperator,
};
use runai_core::{
    ClusterId, DistributedInferenceCreationRequest, DistributedInferenceSpec, InferenceCreationRequest,
    InferenceSpec, ProjectId, Validate, parse,
};

fn dns_name() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9-]{0,20}[a-z0-9]"
}

fn uuid() -> impl Strategy<Value = String> {
    "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
}

fn image() -> impl Strategy<Value = String> {
    ("[a-z]{2,10}/[a-z][a-z0-9-]{1,12}", "[a-z0-9.]{1,8}").prop_map(|(repo, tag)| format!("{repo}:{tag}"))
}

fn autoscaling() -> impl Strategy<Value = AutoScaling> {
    let metric = prop_oneof![
        Just(Metric::Throughput),
        Just(Metric::Concurrency),
        Just(Metric::Latency),
        "[a-z_:][a-z0-9_:]{0,20}".prop_map(|name| Metric::from(name.as_str())),
    ];
    (
        0i32..5,
        0i32..10,
        metric,
        1i32..1000,
        prop::option::of(1.0f64..=100.0),
        0i32..=3600,
        0i32..=3600,
    )
        .prop_map(|(min, extra, metric, threshold, percentage, retention, delay)| {
            let min = if metric.allows_scale_to_zero() {
                min
            } else {
                min.max(1)
            };
            let max = (min + extra).max(1);
            let request_driven = metric.allows_scale_to_zero();
            AutoScaling {
                min_replicas: Some(min),
                max_replicas: Some(max),
                initial_replicas: Some(min.min(max)),
                activation_replicas: Some(1),
                metric: Some(metric),
                metric_threshold: Some(threshold),
                metric_threshold_percentage: if request_driven { percentage } else { None },
                scale_to_zero_retention_seconds: (min == 0).then_some(retention),
                scale_down_delay_seconds: Some(delay),
                concurrency_hard_limit: Some(extra),
                initialization_timeout_seconds: None,
            }
        })
}

fn compute() -> impl Strategy<Value = Compute> {
    prop_oneof![
        (1i32..9).prop_map(Compute::gpus),
        (0.0f64..=1.0).prop_map(Compute::gpu_portion),
        (1u32..80).prop_map(|gib| Compute {
            gpu_devices_request: Some(1),
            gpu_request_type: Some(GpuRequestType::Memory),
            gpu_memory_request: Some(format!("{gib}Gi").as_str().into()),
            cpu_core_request: Some(f64::from(gib) / 4.0),
            cpu_memory_request: Some(format!("{gib}G").as_str().into()),
            ..Compute::default()
        }),
    ]
}

fn serving_port() -> impl Strategy<Value = ServingPort> {
    (1i32..=65535, any::<bool>(), 0usize..3).prop_map(|(port, grpc, access)| {
        let (kind, users) = match access {
            0 => (AuthorizationType::Public, None),
            1 => (AuthorizationType::AuthenticatedUsers, None),
            _ => (
                AuthorizationType::AuthorizedUsers,
                Some(vec!["alice@example.com".to_owned()]),
            ),
        };
        ServingPort {
            container: Some(port),
            protocol: Some(if grpc {
                ServingProtocol::Grpc
            } else {
                ServingProtocol::Http
            }),
            authorization_type: Some(kind),
            authorized_users: users,
            ..ServingPort::default()
        }
    })
}

fn env() -> impl Strategy<Value = Vec<EnvironmentVariable>> {
    prop::collection::btree_map("[A-Z][A-Z0-9_]{0,12}", "[ -~]{0,16}", 0..5).prop_map(|vars| {
        vars.into_iter()
            .map(|(k, v)| EnvironmentVariable::value(k, v))
            .collect()
    })
}

fn priority() -> impl Strategy<Value = Option<PriorityClass>> {
    prop::option::of(prop::sample::select(PriorityClass::KNOWN.to_vec()).prop_map(PriorityClass::from))
}

fn inference_spec() -> impl Strategy<Value = InferenceSpec> {
    (
        image(),
        serving_port(),
        prop::option::of(autoscaling()),
        prop::option::of(compute()),
        env(),
        priority(),
        prop::option::of(prop_oneof![
            Just(Preemptibility::Preemptible),
            Just(Preemptibility::NonPreemptible)
        ]),
        prop::option::of((1i32..3600, 1i32..3600)),
        any::<bool>(),
    )
        .prop_map(
            |(image, port, autoscaling, compute, env, priority, preemptibility, timeouts, extras)| {
                let mut spec = InferenceSpec {
                    image: Some(image),
                    serving_port: Some(port),
                    autoscaling,
                    compute,
                    environment_variables: (!env.is_empty()).then_some(env),
                    priority_class: priority,
                    preemptibility,
                    serving_configuration: timeouts.map(|(init, request)| ServingConfiguration {
                        initialization_timeout_seconds: Some(init),
                        request_timeout_seconds: Some(request),
                    }),
                    ..InferenceSpec::default()
                };
                if extras {
                    spec.labels = Some(vec![Label::new("team", "search")]);
                    spec.node_pools = Some(vec!["h100".into(), "a100".into()]);
                    spec.probes = Some(Probes {
                        readiness: Some(Probe::http_get("/health", 8000)),
                    });
                    spec.tolerations = Some(vec![Toleration {
                        name: Some("gpu".into()),
                        operator: Some(TolerationOperator::Exists),
                        key: Some("nvidia.com/gpu".into()),
                        effect: Some(TolerationEffect::NoSchedule),
                        ..Toleration::default()
                    }]);
                }
                spec
            },
        )
}

fn creation_request() -> impl Strategy<Value = InferenceCreationRequest> {
    (dns_name(), 1u32..1000, uuid(), inference_spec()).prop_map(|(name, project, cluster, spec)| {
        InferenceCreationRequest {
            name,
            project_id: ProjectId::new(project.to_string()),
            cluster_id: ClusterId::new(cluster),
            spec: Some(spec),
            ..InferenceCreationRequest::default()
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn valid_inference_requests_round_trip(request in creation_request()) {
        prop_assert!(request.validate().is_ok(), "{:?}", request.validate());
        let json = serde_json::to_string(&request).unwrap();
        let parsed: InferenceCreationRequest = parse::strict(&json).unwrap();
        prop_assert_eq!(&parsed, &request);
        let lenient: InferenceCreationRequest = parse::lenient(&json).unwrap();
        prop_assert_eq!(&lenient, &request);
    }

    #[test]
    fn defaults_are_valid_and_idempotent(spec in inference_spec()) {
        let once = spec.with_defaults();
        prop_assert!(once.validate().is_ok(), "{:?}", once.validate());
        prop_assert_eq!(once.with_defaults(), once);
        let resolved = spec.autoscaling.unwrap_or_default().resolve();
        prop_assert!(resolved.min_replicas <= resolved.max_replicas);
        prop_assert!(resolved.max_replicas >= 1);
        prop_assert!(resolved.initial_replicas <= resolved.max_replicas);
    }

    #[test]
    fn valid_distributed_requests_round_trip(
        name in dns_name(),
        cluster in uuid(),
        workers in 0i32..16,
        replicas in 0i32..8,
        leader_image in image(),
        gpus in 1i32..9,
    ) {
        let pod = runai_core::distributed::LeaderWorkerSpec {
            image: Some(leader_image),
            compute: Some(Compute::gpus(gpus)),
            ..Default::default()
        };
        let request = DistributedInferenceCreationRequest {
            name,
            project_id: ProjectId::new("1"),
            cluster_id: ClusterId::new(cluster),
            spec: Some(DistributedInferenceSpec {
                workers: Some(workers),
                replicas: Some(replicas),
                serving_port: Some(runai_core::distributed::DistributedServingPort { port: Some(8000), ..Default::default() }),
                leader: Some(pod.clone()),
                worker: (workers > 0).then_some(pod),
                ..Default::default()
            }),
            ..Default::default()
        };
        prop_assert!(request.validate().is_ok(), "{:?}", request.validate());
        let json = serde_json::to_string(&request).unwrap();
        let parsed: DistributedInferenceCreationRequest = parse::strict(&json).unwrap();
        prop_assert_eq!(parsed, request);
    }
}
