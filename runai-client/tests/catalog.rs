//! Model catalogs against wiremock: the Hugging Face Hub (search, `Link` pagination, gated
//! status, one model) and the NGC catalog of NIM containers (paging through `q`).

use futures_util::{StreamExt, TryStreamExt};
use runai_client::catalog::{Gated, HubModel, ModelSearch, ModelSort};
use runai_client::{Client, Error};
use serde_json::{Value, json};
use wiremock::matchers::{bearer_token, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

fn client(mock: &MockServer) -> Client {
    Client::builder(mock.uri()).build().expect("client")
}

/// A request's query as ordered pairs, repeated keys included.
fn query(request: &Request) -> Vec<(String, String)> {
    request
        .url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|&(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

fn authorization(request: &Request) -> Option<&str> {
    request.headers.get("authorization").and_then(|v| v.to_str().ok())
}

fn ids(models: &[HubModel]) -> Vec<&str> {
    models.iter().map(|m| m.id.as_str()).collect()
}

const EXPAND: [(&str, &str); 9] = [
    ("expand", "author"),
    ("expand", "downloads"),
    ("expand", "likes"),
    ("expand", "gated"),
    ("expand", "private"),
    ("expand", "pipeline_tag"),
    ("expand", "library_name"),
    ("expand", "tags"),
    ("expand", "lastModified"),
];

#[tokio::test]
async fn search_sends_every_parameter_and_reads_lenient_items() {
    let mock = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/models"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            {
                "_id": "66",
                "id": "meta-llama/Llama-3.1-8B-Instruct",
                "author": "meta-llama",
                "downloads": 5_000_000,
                "likes": 4000,
                "gated": "manual",
                "private": false,
                "pipeline_tag": "text-generation",
                "library_name": "transformers",
                "tags": ["transformers", "llama"],
                "lastModified": "2024-09-25T17:00:57.000Z",
                "somethingNew": {"nested": [1, 2]}
            },
            {"id": "gpt2", "tags": null}
        ])))
        .expect(1)
        .mount(&mock)
        .await;

    let search = ModelSearch::new()
        .search("llama 3")
        .author("meta-llama")
        .pipeline_tag("text-generation")
        .library("transformers")
        .filter("safetensors")
        .filter("en")
        .sort(ModelSort::Downloads)
        .limit(2);
    let page = client(&mock)
        .huggingface()
        .base_url(mock.uri())
        .search(&search)
        .await
        .expect("search");

    assert_eq!(ids(&page.items), ["meta-llama/Llama-3.1-8B-Instruct", "gpt2"]);
    assert_eq!(page.next, None);
    let first = &page.items[0];
    assert_eq!(first.downloads, Some(5_000_000));
    assert_eq!(first.likes, Some(4000));
    assert_eq!(first.gated, Some(Gated::Manual));
    assert_eq!(first.library_name.as_deref(), Some("transformers"));
    assert_eq!(first.last_modified.as_deref(), Some("2024-09-25T17:00:57.000Z"));
    let bare = &page.items[1];
    assert_eq!(
        (bare.author.as_deref(), bare.downloads, bare.gated),
        (None, None, None)
    );
    assert!(bare.tags.is_empty());

    let requests = mock.received_requests().await.expect("recorded");
    let request = &requests[0];
    assert_eq!(request.method.as_str(), "GET");
    assert_eq!(request.url.path(), "/api/models");
    let mut expected = pairs(&[
        ("search", "llama 3"),
        ("author", "meta-llama"),
        ("pipeline_tag", "text-generation"),
        ("library", "transformers"),
        ("filter", "safetensors"),
        ("filter", "en"),
        ("sort", "downloads"),
        ("limit", "2"),
    ]);
    expected.extend(pairs(&EXPAND));
    assert_eq!(query(request), expected);
    assert_eq!(authorization(request), None);
}

#[tokio::test]
async fn search_all_follows_link_headers_across_three_pages_with_the_token() {
    let mock = MockServer::start().await;
    let base = mock.uri();
    // Page 1 announces page 2 among other links, quoted, spaced and in mixed case.
    Mock::given(method("GET"))
        .and(path("/api/models"))
        .and(query_param_is_missing("cursor"))
        .and(bearer_token("hf_secret"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header(
                    "link",
                    format!(
                        r#"<{base}/api/models?author=acme&cursor=p0>; rel="prev"; title="back, one",  <{base}/api/models?author=acme&limit=2&cursor=p2> ;REL = "Next""#
                    ),
                )
                .set_body_json(json!([{"id": "acme/a"}, {"id": "acme/b"}])),
        )
        .expect(1)
        .mount(&mock)
        .await;
    // Page 2 sends its link on a second `Link` header line.
    Mock::given(method("GET"))
        .and(path("/api/models"))
        .and(query_param("cursor", "p2"))
        .and(bearer_token("hf_secret"))
        .respond_with(
            ResponseTemplate::new(200)
                .append_header("link", format!(r#"<{base}/api/models?cursor=p0>; rel="first""#))
                .append_header(
                    "link",
                    format!(r#"<{base}/api/models?author=acme&limit=2&cursor=p3>; rel=next"#),
                )
                .set_body_json(json!([{"id": "acme/c"}, {"id": "acme/d"}])),
        )
        .expect(1)
        .mount(&mock)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/models"))
        .and(query_param("cursor", "p3"))
        .and(bearer_token("hf_secret"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([{"id": "acme/e"}])))
        .expect(1)
        .mount(&mock)
        .await;

    let client = client(&mock);
    let stream = client
        .huggingface()
        .base_url(mock.uri())
        .token("hf_secret")
        .search_all(ModelSearch::new().author("acme").limit(2).expand(["gated"]));
    let models: Vec<HubModel> = stream.try_collect().await.expect("every page");

    assert_eq!(ids(&models), ["acme/a", "acme/b", "acme/c", "acme/d", "acme/e"]);
    let requests = mock.received_requests().await.expect("recorded");
    assert_eq!(requests.len(), 3);
    assert_eq!(
        query(&requests[0]),
        pairs(&[("author", "acme"), ("limit", "2"), ("expand", "gated")])
    );
    assert_eq!(
        query(&requests[1]),
        pairs(&[("author", "acme"), ("limit", "2"), ("cursor", "p2")])
    );
    assert_eq!(
        query(&requests[2]),
        pairs(&[("author", "acme"), ("limit", "2"), ("cursor", "p3")])
    );
    for request in &requests {
        assert_eq!(request.method.as_str(), "GET");
        assert_eq!(authorization(request), Some("Bearer hf_secret"));
    }
}

#[tokio::test]
async fn search_all_fetches_no_more_pages_than_taken() {
    let mock = MockServer::start().await;
    let next = format!(r#"<{}/api/models?cursor=p2>; rel="next""#, mock.uri());
    Mock::given(method("GET"))
        .and(path("/api/models"))
        .and(query_param_is_missing("cursor"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("link", next)
                .set_body_json(json!([{"id": "a/1"}, {"id": "a/2"}])),
        )
        .expect(1)
        .mount(&mock)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/models"))
        .and(query_param("cursor", "p2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([{"id": "a/3"}])))
        .expect(0)
        .mount(&mock)
        .await;

    let client = client(&mock);
    let first_two: Vec<HubModel> = client
        .huggingface()
        .base_url(mock.uri())
        .search_all(ModelSearch::new())
        .take(2)
        .try_collect()
        .await
        .expect("two models");
    assert_eq!(ids(&first_two), ["a/1", "a/2"]);
}

#[tokio::test]
async fn the_token_is_not_sent_to_a_next_page_on_another_host() {
    let hub = MockServer::start().await;
    let elsewhere = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/models"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header(
                    "link",
                    format!(r#"<{}/api/models?cursor=x>; rel="next""#, elsewhere.uri()),
                )
                .set_body_json(json!([{"id": "a/1"}])),
        )
        .expect(1)
        .mount(&hub)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/models"))
        .and(query_param("cursor", "x"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([{"id": "a/2"}])))
        .expect(1)
        .mount(&elsewhere)
        .await;

    let client = client(&hub);
    let hub_handle = client.huggingface().base_url(hub.uri()).token("hf_secret");
    let first = hub_handle.search(&ModelSearch::new()).await.expect("first page");
    let second = hub_handle
        .next_page(&first)
        .await
        .expect("second page")
        .expect("a second page");
    assert_eq!(ids(&second.items), ["a/2"]);
    assert_eq!(second.next, None);

    let to_hub = hub.received_requests().await.expect("recorded");
    assert_eq!(authorization(&to_hub[0]), Some("Bearer hf_secret"));
    let to_elsewhere = elsewhere.received_requests().await.expect("recorded");
    assert_eq!(authorization(&to_elsewhere[0]), None);
}

#[tokio::test]
async fn gated_reads_false_auto_manual_and_true() {
    let mock = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/models"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            {"id": "open/model", "gated": false},
            {"id": "auto/model", "gated": "auto"},
            {"id": "manual/model", "gated": "manual"},
            {"id": "legacy/model", "gated": true},
            {"id": "unsaid/model"}
        ])))
        .mount(&mock)
        .await;

    let page = client(&mock)
        .huggingface()
        .base_url(mock.uri())
        .search(&ModelSearch::new())
        .await
        .expect("search");
    let gated: Vec<Option<Gated>> = page.items.iter().map(|m| m.gated).collect();
    assert_eq!(
        gated,
        [
            Some(Gated::No),
            Some(Gated::Auto),
            Some(Gated::Manual),
            Some(Gated::Auto),
            None
        ]
    );
    assert!(!Gated::No.is_gated() && Gated::Auto.is_gated());
}

#[tokio::test]
async fn model_lookup_sends_the_token_and_reads_the_model() {
    let mock = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/models/meta-llama/Llama-3.1-8B-Instruct"))
        .and(bearer_token("hf_secret"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "_id": "66",
            "id": "meta-llama/Llama-3.1-8B-Instruct",
            "author": "meta-llama",
            "sha": "0e9e39f249a16976918f6564b8830bc894c89659",
            "downloads": 5_123_456,
            "downloadsAllTime": 60_000_000,
            "likes": 4321,
            "trendingScore": 12,
            "gated": "manual",
            "private": false,
            "disabled": false,
            "pipeline_tag": "text-generation",
            "library_name": "transformers",
            "tags": ["transformers", "safetensors", "llama", "text-generation"],
            "lastModified": "2024-09-25T17:00:57.000Z",
            "createdAt": "2024-07-18T08:56:00.000Z",
            "siblings": [{"rfilename": "config.json"}],
            "cardData": {"license": "llama3.1"}
        })))
        .expect(1)
        .mount(&mock)
        .await;

    let model = client(&mock)
        .huggingface()
        .base_url(mock.uri())
        .token("hf_secret")
        .model("meta-llama/Llama-3.1-8B-Instruct")
        .await
        .expect("model");
    assert_eq!(model.gated, Some(Gated::Manual));
    insta::assert_json_snapshot!(model);

    let requests = mock.received_requests().await.expect("recorded");
    assert_eq!(requests[0].method.as_str(), "GET");
    assert_eq!(requests[0].url.query(), None);
    assert_eq!(authorization(&requests[0]), Some("Bearer hf_secret"));
}

#[tokio::test]
async fn an_anonymous_model_lookup_sends_no_authorization() {
    let mock = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/models/gpt2"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"id": "openai-community/gpt2", "gated": false})),
        )
        .expect(1)
        .mount(&mock)
        .await;

    let model = client(&mock)
        .huggingface()
        .base_url(mock.uri())
        .model("gpt2")
        .await
        .expect("model");
    assert_eq!(model.id, "openai-community/gpt2");
    assert_eq!(model.gated, Some(Gated::No));

    let requests = mock.received_requests().await.expect("recorded");
    assert_eq!(requests.len(), 1);
    assert_eq!(authorization(&requests[0]), None);
}

#[tokio::test]
async fn an_unknown_model_is_an_api_error() {
    let mock = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/models/acme/missing"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"error": "Repository not found"})))
        .expect(1)
        .mount(&mock)
        .await;

    let error = client(&mock)
        .huggingface()
        .base_url(mock.uri())
        .model("acme/missing")
        .await
        .expect_err("404");
    assert_eq!(error.status(), Some(404));
    assert!(error.to_string().contains("Repository not found"), "{error}");
}

#[tokio::test]
async fn bad_repo_ids_are_refused_without_a_request() {
    let mock = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&mock)
        .await;

    let client = client(&mock);
    let hub = client.huggingface().base_url(mock.uri()).token("hf_secret");
    for id in [
        "",
        "/",
        "owner/",
        "/name",
        "..",
        "owner/..",
        "../../api/whoami-v2",
        "owner/name/extra",
        "owner/name?expand=gated",
        "owner/name#top",
        "owner/na me",
        "owner/%2e%2e",
        "owner\\name",
    ] {
        let error = hub.model(id).await.expect_err(id);
        assert!(
            matches!(error, Error::Config { field: "repo_id", .. }),
            "{id}: {error}"
        );
    }
    assert!(mock.received_requests().await.expect("recorded").is_empty());
}

#[tokio::test]
async fn a_bad_base_url_is_a_config_error() {
    let mock = MockServer::start().await;
    let client = client(&mock);
    for url in ["not a url", "ftp://hub.example", "mailto:hub@example.com"] {
        let error = client
            .huggingface()
            .base_url(url)
            .model("a/b")
            .await
            .expect_err(url);
        assert!(
            matches!(
                error,
                Error::Config {
                    field: "base_url",
                    ..
                }
            ),
            "{url}: {error}"
        );
        let error = client
            .ngc()
            .base_url(url)
            .nim_models_page(0)
            .await
            .expect_err(url);
        assert!(
            matches!(
                error,
                Error::Config {
                    field: "base_url",
                    ..
                }
            ),
            "{url}: {error}"
        );
    }
}

#[tokio::test]
async fn a_body_that_is_not_json_is_a_decode_error_with_an_excerpt() {
    let mock = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/models"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_string("<!DOCTYPE html><html><title>Hugging Face is down</title>"),
        )
        .mount(&mock)
        .await;

    let error = client(&mock)
        .huggingface()
        .base_url(mock.uri())
        .search(&ModelSearch::new())
        .await
        .expect_err("decode");
    let Error::Decode { what, excerpt, .. } = &error else {
        panic!("not a decode error: {error}");
    };
    assert_eq!(what, "the Hugging Face model list");
    assert!(
        excerpt.starts_with("<!DOCTYPE html><html><title>Hugging Face is down"),
        "{excerpt}"
    );
    assert!(
        error.to_string().contains("the body began: <!DOCTYPE html>"),
        "{error}"
    );
}

/// Answers NGC catalog searches for `total` pages of two containers each, by the page in `q`.
fn ngc_pages(total: u32) -> impl Fn(&Request) -> ResponseTemplate {
    move |request: &Request| {
        let q = request
            .url
            .query_pairs()
            .find(|(k, _)| k == "q")
            .map(|(_, v)| v.into_owned());
        let page = q
            .and_then(|q| serde_json::from_str::<Value>(&q).ok())
            .and_then(|q| q["page"].as_u64())
            .unwrap_or(u64::MAX);
        let resources: Vec<Value> = (0..2)
            .map(|i| {
                json!({
                    "resourceId": format!("nim/acme/model-{page}-{i}"),
                    "name": format!("model-{page}-{i}"),
                    "displayName": format!("Model {page}.{i}"),
                    "description": "A model.",
                    "attributes": [
                        {"key": "latestTag", "value": format!("1.{page}.{i}")},
                        {"key": "size", "value": 42}
                    ],
                    "labels": [{"key": "general", "values": ["NVIDIA AI Enterprise Supported"]}]
                })
            })
            .collect();
        ResponseTemplate::new(200).set_body_json(json!({
            "resultTotal": total * 2,
            "resultPageTotal": total,
            "params": {"page": page, "pageSize": 2},
            "results": [{"groupValue": "CONTAINER", "totalCount": total * 2, "resources": resources}]
        }))
    }
}

#[tokio::test]
async fn ngc_nim_models_pages_until_the_last_page() {
    let mock = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/search/catalog/resources/CONTAINER"))
        .respond_with(ngc_pages(3))
        .expect(3)
        .mount(&mock)
        .await;

    let client = client(&mock);
    let models: Vec<_> = client
        .ngc()
        .base_url(mock.uri())
        .page_size(2)
        .nim_models()
        .try_collect()
        .await
        .expect("every page");

    let names: Vec<&str> = models.iter().map(|m| m.resource_id.as_str()).collect();
    assert_eq!(
        names,
        [
            "nim/acme/model-0-0",
            "nim/acme/model-0-1",
            "nim/acme/model-1-0",
            "nim/acme/model-1-1",
            "nim/acme/model-2-0",
            "nim/acme/model-2-1"
        ]
    );
    let last = &models[5];
    assert_eq!(last.name, "model-2-1");
    assert_eq!(last.display_name.as_deref(), Some("Model 2.1"));
    assert_eq!(last.description.as_deref(), Some("A model."));
    assert_eq!(last.latest_tag.as_deref(), Some("1.2.1"));
    assert_eq!(last.attributes.get("size").map(String::as_str), Some("42"));
    assert_eq!(last.image().as_deref(), Some("nvcr.io/nim/acme/model-2-1:1.2.1"));

    let requests = mock.received_requests().await.expect("recorded");
    for (page, request) in requests.iter().enumerate() {
        assert_eq!(request.method.as_str(), "GET");
        let query = query(request);
        assert_eq!(query.len(), 1, "{query:?}");
        assert_eq!(query[0].0, "q");
        let q: Value = serde_json::from_str(&query[0].1).expect("q is JSON");
        assert_eq!(q, json!({"query": "orgName:nim", "page": page, "pageSize": 2}));
        assert_eq!(authorization(request), None);
    }
}

#[tokio::test]
async fn ngc_sends_the_api_key_when_given_and_reads_sparse_resources() {
    let mock = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/search/catalog/resources/CONTAINER"))
        .and(bearer_token("nvapi-secret"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "resultPageTotal": 1,
            "params": {"page": 0},
            "results": [
                {"groupValue": "CONTAINER", "resources": [{"resourceId": "nim/meta/llama-3.1-8b-instruct", "attributes": null}]},
                {"groupValue": "CONTAINER", "resources": null}
            ]
        })))
        .expect(1)
        .mount(&mock)
        .await;

    let client = client(&mock);
    let page = client
        .ngc()
        .base_url(mock.uri())
        .api_key("nvapi-secret")
        .nim_models_page(0)
        .await
        .expect("page");
    assert_eq!(page.next, None);
    let model = &page.items[0];
    assert_eq!(model.name, "llama-3.1-8b-instruct");
    assert_eq!((model.latest_tag.as_deref(), model.image()), (None, None));

    let requests = mock.received_requests().await.expect("recorded");
    assert_eq!(authorization(&requests[0]), Some("Bearer nvapi-secret"));
}

#[tokio::test]
async fn ngc_decode_errors_show_the_body() {
    let mock = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/search/catalog/resources/CONTAINER"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"results": [{"resources": [{"name": "no id"}]}]})),
        )
        .mount(&mock)
        .await;

    let error = client(&mock)
        .ngc()
        .base_url(mock.uri())
        .nim_models()
        .next()
        .await
        .expect("one item")
        .expect_err("decode");
    assert!(matches!(error, Error::Decode { .. }), "{error}");
    let message = error.to_string();
    assert!(
        message.starts_with("the NGC catalog search (page 0): "),
        "{message}"
    );
    assert!(
        message.contains(r#"the body began: {"results":[{"resources":[{"name":"no id"}]}]}"#),
        "{message}"
    );
}

#[test]
fn sort_orders_parse_from_their_hub_names() {
    for sort in ModelSort::ALL {
        assert_eq!(sort.as_str().parse::<ModelSort>().expect("parses"), sort);
    }
    assert_eq!(
        "TRENDINGSCORE".parse::<ModelSort>().expect("parses"),
        ModelSort::TrendingScore
    );
    let error = "stars".parse::<ModelSort>().expect_err("unknown");
    assert!(
        error
            .to_string()
            .contains("downloads, likes, trendingScore, lastModified, createdAt"),
        "{error}"
    );
}

#[test]
fn handles_do_not_show_credentials_in_debug_output() {
    let client = Client::builder("https://acme.run.ai").build().expect("client");
    let hub = format!("{:?}", client.huggingface().token("hf_secret"));
    let ngc = format!("{:?}", client.ngc().api_key("nvapi-secret"));
    assert!(!hub.contains("hf_secret") && hub.contains("redacted"), "{hub}");
    assert!(!ngc.contains("nvapi-secret") && ngc.contains("redacted"), "{ngc}");
}

#[test]
fn streams_can_be_polled_unpinned_and_sent_across_threads() {
    fn sendable<T: Send + Unpin>(_: &T) {}
    let client = Client::builder("https://acme.run.ai").build().expect("client");
    sendable(&client.huggingface().search_all(ModelSearch::new()));
    sendable(&client.ngc().nim_models());
}

#[tokio::test]
async fn a_next_link_back_to_the_same_page_ends_the_stream() {
    let mock = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/models"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header(
                    "link",
                    format!(r#"<{}/api/models?limit=1>; rel="next""#, mock.uri()),
                )
                .set_body_json(json!([{"id": "a/1"}])),
        )
        .expect(1)
        .mount(&mock)
        .await;

    let client = client(&mock);
    let search = ModelSearch::new().limit(1).expand(Vec::<String>::new());
    let models: Vec<HubModel> = client
        .huggingface()
        .base_url(mock.uri())
        .search_all(search)
        .try_collect()
        .await
        .expect("one page");
    assert_eq!(ids(&models), ["a/1"]);
}

#[tokio::test]
async fn ngc_paging_ends_even_when_the_server_echoes_the_wrong_page() {
    let mock = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/search/catalog/resources/CONTAINER"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "resultPageTotal": 2,
            "params": {"page": 0},
            "results": [{"groupValue": "CONTAINER", "resources": [{"resourceId": "nim/acme/same"}]}]
        })))
        .expect(2)
        .mount(&mock)
        .await;

    let client = client(&mock);
    let models: Vec<_> = client
        .ngc()
        .base_url(mock.uri())
        .nim_models()
        .try_collect()
        .await
        .expect("pages");
    assert_eq!(models.len(), 2);
}
