//! The OpenAI-compatible API against a wiremock server: what each call sends, what it reads
//! back, streams (framing, usage, time to first token, errors in the stream) and error
//! answers. Byte-level splitting of events is covered by the SSE decoder's unit tests, as
//! wiremock sends each body at once.

use futures_util::{StreamExt, TryStreamExt};
use runai_client::openai::{ChatCompletionRequest, ChatMessage, CompletionRequest, EmbeddingRequest};
use runai_client::{Client, Credentials, Error};
use serde_json::{Value, json};
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn client(server: &MockServer) -> Client {
    Client::builder(server.uri())
        .credentials(Credentials::Bearer("tok".into()))
        .build()
        .unwrap()
}

fn chat_request() -> ChatCompletionRequest {
    ChatCompletionRequest::new(
        "llama-3-8b",
        vec![ChatMessage::system("Be brief."), ChatMessage::user("Say hello")],
    )
    .max_tokens(16)
    .temperature(0.5)
    .top_p(0.9)
    .stop(["\n\n"])
}

fn event_stream(body: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(body.as_bytes().to_vec(), "text/event-stream")
}

/// The one request the server received, as (method, path, authorization header, JSON body).
async fn only_request(server: &MockServer) -> (String, String, Option<String>, Value) {
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1, "{requests:?}");
    let request = &requests[0];
    let authorization = request
        .headers
        .get("authorization")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = if request.body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&request.body).unwrap()
    };
    (
        request.method.to_string(),
        request.url.path().to_owned(),
        authorization,
        body,
    )
}

/// A streamed chat as a server may frame it: a comment, CRLF line ends, `data:` without a
/// space, one event's JSON over two `data:` lines, a role-only first chunk, a finish chunk, a
/// usage chunk, `[DONE]`, and an event after `[DONE]` that must not be read.
const CHAT_STREAM: &str = concat!(
    ": keep-alive\r\n\r\n",
    "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":0,\"model\":\"llama-3-8b\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}],\"usage\":null}\r\n\r\n",
    "data:{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":0,\"model\":\"llama-3-8b\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hello\"},\"finish_reason\":null}],\"usage\":null}\r\n\r\n",
    "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":0,\"model\":\"llama-3-8b\",\r\n",
    "data: \"choices\":[{\"index\":0,\"delta\":{\"content\":\", w\u{f6}rld\"},\"finish_reason\":null}],\"usage\":null}\r\n\r\n",
    ": still generating\n",
    "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":0,\"model\":\"llama-3-8b\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":null}\n\n",
    "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":0,\"model\":\"llama-3-8b\",\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":3,\"total_tokens\":8}}\n\n",
    "data: [DONE]\r\n\r\n",
    "data: {\"id\":\"after-done\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"ignored\"}}]}\n\n",
);

#[tokio::test]
async fn chat_posts_the_request_with_the_control_plane_token() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(header("authorization", "Bearer tok"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "chatcmpl-7", "object": "chat.completion", "created": 1_700_000_000, "model": "llama-3-8b",
            "system_fingerprint": "fp_1",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello!"}, "finish_reason": "stop", "logprobs": null}],
            "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7, "prompt_tokens_details": null},
        })))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server);
    // `stream_options` only makes sense when streaming; a plain call leaves it out.
    let request = chat_request().include_usage(true).extra("seed", 7);
    let answer = client.openai(server.uri()).unwrap().chat(&request).await.unwrap();
    assert_eq!(answer.text(), Some("Hello!"));
    assert_eq!(answer.choices[0].finish_reason.as_deref(), Some("stop"));
    assert_eq!(answer.usage.as_ref().map(|u| u.total_tokens), Some(7));
    let (method, path, authorization, body) = only_request(&server).await;
    assert_eq!((method.as_str(), path.as_str()), ("POST", "/v1/chat/completions"));
    assert_eq!(authorization.as_deref(), Some("Bearer tok"));
    assert_eq!(
        body,
        json!({
            "model": "llama-3-8b",
            "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Say hello"}],
            "max_tokens": 16, "temperature": 0.5, "top_p": 0.9, "stop": ["\n\n"],
            "seed": 7, "stream": false,
        })
    );
}

#[tokio::test]
async fn completions_post_the_prompt() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/completions"))
        .and(header("authorization", "Bearer tok"))
        .and(body_json(json!({
            "model": "llama-3-8b", "prompt": ["Once upon", "a time"], "max_tokens": 4, "stop": ".", "stream": false,
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "cmpl-1", "object": "text_completion", "created": 0, "model": "llama-3-8b",
            "choices": [{"index": 0, "text": " there was", "finish_reason": "length", "logprobs": null},
                        {"index": 1, "text": " a GPU", "finish_reason": "length"}],
            "usage": {"prompt_tokens": 4, "completion_tokens": 8, "total_tokens": 12},
        })))
        .expect(1)
        .mount(&server)
        .await;
    let request = CompletionRequest::new("llama-3-8b", ["Once upon", "a time"])
        .max_tokens(4)
        .stop(".");
    let answer = client(&server)
        .openai(server.uri())
        .unwrap()
        .complete(&request)
        .await
        .unwrap();
    assert_eq!(answer.text(), Some(" there was"));
    assert_eq!(answer.choices[1].text, " a GPU");
    assert_eq!(answer.usage.map(|u| u.completion_tokens), Some(8));
}

#[tokio::test]
async fn embeddings_post_the_input() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/embeddings"))
        .and(header("authorization", "Bearer tok"))
        .and(body_json(
            json!({"model": "e5-large", "input": "a passage", "dimensions": 3}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "object": "list", "model": "e5-large",
            "data": [{"object": "embedding", "index": 0, "embedding": [0.25, -0.5, 1.0]}],
            "usage": {"prompt_tokens": 2, "total_tokens": 2},
        })))
        .expect(1)
        .mount(&server)
        .await;
    let request = EmbeddingRequest::new("e5-large", "a passage").dimensions(3);
    let answer = client(&server)
        .openai(server.uri())
        .unwrap()
        .embed(&request)
        .await
        .unwrap();
    assert_eq!(answer.data.len(), 1);
    assert_eq!(answer.data[0].embedding, vec![0.25, -0.5, 1.0]);
    let usage = answer.usage.unwrap();
    assert_eq!((usage.prompt_tokens, usage.completion_tokens), (2, 0));
}

#[tokio::test]
async fn models_lists_the_served_models() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/models"))
        .and(header("authorization", "Bearer tok"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "object": "list",
            "data": [{"id": "llama-3-8b", "object": "model", "created": 0, "owned_by": "runai", "max_model_len": 8192}],
        })))
        .expect(1)
        .mount(&server)
        .await;
    // A serving URL that already ends in /v1 is the API root itself.
    let models = client(&server)
        .openai(format!("{}/v1/", server.uri()))
        .unwrap()
        .models()
        .await
        .unwrap();
    assert_eq!(models.data.len(), 1);
    assert_eq!(models.data[0].id, "llama-3-8b");
    assert_eq!(models.data[0].owned_by.as_deref(), Some("runai"));
    let (method, path, _, body) = only_request(&server).await;
    assert_eq!(
        (method.as_str(), path.as_str(), body),
        ("GET", "/v1/models", Value::Null)
    );
}

#[tokio::test]
async fn anonymous_sends_no_authorization() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/models"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"object": "list", "data": []})))
        .mount(&server)
        .await;
    let models = client(&server)
        .openai(server.uri())
        .unwrap()
        .anonymous()
        .models()
        .await
        .unwrap();
    assert!(models.data.is_empty());
    let (_, _, authorization, _) = only_request(&server).await;
    assert_eq!(authorization, None);
}

#[tokio::test]
async fn a_token_replaces_the_control_plane_token() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/models"))
        .and(header("authorization", "Bearer sk-workload"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"object": "list", "data": []})))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server);
    let openai = client.openai(server.uri()).unwrap().token("sk-workload");
    openai.models().await.unwrap();
    assert!(!format!("{openai:?}").contains("sk-workload"), "{openai:?}");
}

#[tokio::test]
async fn a_streamed_chat_yields_its_chunks_in_order() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(header("authorization", "Bearer tok"))
        .respond_with(event_stream(CHAT_STREAM))
        .expect(1)
        .mount(&server)
        .await;
    let request = chat_request().include_usage(true);
    let mut stream = client(&server)
        .openai(server.uri())
        .unwrap()
        .chat_stream(&request)
        .await
        .unwrap();
    let mut chunks = Vec::new();
    while let Some(chunk) = stream.try_next().await.unwrap() {
        chunks.push(chunk);
    }
    let texts: Vec<Option<&str>> = chunks.iter().map(|c| c.text()).collect();
    assert_eq!(texts, [Some(""), Some("Hello"), Some(", w\u{f6}rld"), None, None]);
    let text: String = chunks.iter().filter_map(|c| c.text()).collect();
    assert_eq!(text, "Hello, w\u{f6}rld");
    assert_eq!(chunks[0].choices[0].delta.role.as_deref(), Some("assistant"));
    assert_eq!(chunks[3].choices[0].finish_reason.as_deref(), Some("stop"));
    assert!(chunks[4].choices.is_empty());
    let usage = stream.usage().unwrap();
    assert_eq!(
        (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens),
        (5, 3, 8)
    );
    assert!(stream.time_to_first_token().is_some());
    assert!(stream.is_complete());
    insta::assert_json_snapshot!("streamed_chat_chunks", chunks);

    let (method, path, authorization, body) = only_request(&server).await;
    assert_eq!((method.as_str(), path.as_str()), ("POST", "/v1/chat/completions"));
    assert_eq!(authorization.as_deref(), Some("Bearer tok"));
    assert_eq!(body["stream"], true);
    assert_eq!(body["stream_options"], json!({"include_usage": true}));
    assert_eq!(
        body["messages"][1],
        json!({"role": "user", "content": "Say hello"})
    );
}

#[tokio::test]
async fn time_to_first_token_waits_for_the_first_text() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(event_stream(CHAT_STREAM))
        .mount(&server)
        .await;
    let mut stream = client(&server)
        .openai(server.uri())
        .unwrap()
        .chat_stream(&chat_request())
        .await
        .unwrap();
    assert_eq!(stream.time_to_first_token(), None);
    let role_only = stream.try_next().await.unwrap().unwrap();
    assert_eq!(role_only.text(), Some(""));
    assert_eq!(
        stream.time_to_first_token(),
        None,
        "a role-only chunk is no token"
    );
    let first = stream.try_next().await.unwrap().unwrap();
    assert_eq!(first.text(), Some("Hello"));
    let ttft = stream.time_to_first_token();
    assert!(ttft.is_some());
    // It is measured once.
    stream.try_next().await.unwrap();
    assert_eq!(stream.time_to_first_token(), ttft);
}

#[tokio::test]
async fn an_error_event_in_the_stream_is_an_error_item() {
    let server = MockServer::start().await;
    let body = concat!(
        "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}]}\n\n",
        "data: {\"error\":{\"message\":\"the replica ran out of KV cache\",\"type\":\"server_error\",\"param\":null,\"code\":null}}\n\n",
        "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"}}]}\n\n",
    );
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(event_stream(body))
        .mount(&server)
        .await;
    let mut stream = client(&server)
        .openai(server.uri())
        .unwrap()
        .chat_stream(&chat_request())
        .await
        .unwrap();
    let first = stream.next().await.unwrap().unwrap();
    assert_eq!(first.text(), Some("Hel"));
    let error = stream.next().await.unwrap().unwrap_err();
    match &error {
        Error::Api {
            status,
            message,
            details,
            ..
        } => {
            assert_eq!(*status, 200);
            assert_eq!(message, "the replica ran out of KV cache");
            assert_eq!(
                details.as_deref(),
                Some("sent in the event stream; type server_error")
            );
        }
        other => panic!("expected an API error, got {other:?}"),
    }
    insta::assert_snapshot!("stream_error_message", error.to_string());
    // The stream ends at the error.
    assert!(stream.next().await.is_none());
    assert!(!stream.is_complete());
}

#[tokio::test]
async fn a_malformed_event_is_a_decode_error_with_its_text() {
    let server = MockServer::start().await;
    let body = concat!(
        "data: {\"choices\": [oops]}\n\n",
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"fine\"}}]}\n\n",
        "data: [DONE]\n\n",
    );
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(event_stream(body))
        .mount(&server)
        .await;
    let items: Vec<_> = client(&server)
        .openai(server.uri())
        .unwrap()
        .chat_stream(&chat_request())
        .await
        .unwrap()
        .collect()
        .await;
    assert_eq!(items.len(), 2);
    match &items[0] {
        Err(Error::Decode { what, excerpt, .. }) => {
            assert!(what.contains("/v1/chat/completions"), "{what}");
            assert_eq!(excerpt, "{\"choices\": [oops]}");
        }
        other => panic!("expected a decode error, got {other:?}"),
    }
    // One bad event does not end the stream.
    assert_eq!(items[1].as_ref().unwrap().text(), Some("fine"));
}

#[tokio::test]
async fn a_refused_request_is_an_api_error_with_the_servers_message() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({
            "error": {"message": "The model `gpt-9` does not exist.", "type": "invalid_request_error", "param": "model", "code": "model_not_found"},
        })))
        .expect(2)
        .mount(&server)
        .await;
    let client = client(&server);
    let openai = client.openai(server.uri()).unwrap();
    let plain = openai.chat(&chat_request()).await.unwrap_err();
    let streamed = openai.chat_stream(&chat_request()).await.unwrap_err();
    for error in [&plain, &streamed] {
        match error {
            Error::Api {
                status,
                message,
                details,
                ..
            } => {
                assert_eq!(*status, 404);
                assert_eq!(message, "The model `gpt-9` does not exist.");
                assert_eq!(
                    details.as_deref(),
                    Some("type invalid_request_error; code model_not_found; param model")
                );
            }
            other => panic!("expected an API error, got {other:?}"),
        }
    }
    insta::assert_snapshot!("refused_request_message", plain.to_string());
}

#[tokio::test]
async fn a_streamed_completion_yields_text_chunks() {
    let server = MockServer::start().await;
    let body = concat!(
        "data: {\"id\":\"cmpl-1\",\"object\":\"text_completion\",\"model\":\"llama-3-8b\",\"choices\":[{\"index\":0,\"text\":\" there\",\"finish_reason\":null}]}\n\n",
        "data: {\"id\":\"cmpl-1\",\"object\":\"text_completion\",\"model\":\"llama-3-8b\",\"choices\":[{\"index\":0,\"text\":\" was\",\"finish_reason\":\"length\"}]}\n\n",
        "data: {\"id\":\"cmpl-1\",\"object\":\"text_completion\",\"model\":\"llama-3-8b\",\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2,\"total_tokens\":5}}\n\n",
        "data: [DONE]\n\n",
    );
    Mock::given(method("POST"))
        .and(path("/v1/completions"))
        .and(header("authorization", "Bearer tok"))
        .and(body_json(json!({
            "model": "llama-3-8b", "prompt": "Once upon a time", "stream": true,
            "stream_options": {"include_usage": true},
        })))
        .respond_with(event_stream(body))
        .expect(1)
        .mount(&server)
        .await;
    let request = CompletionRequest::new("llama-3-8b", "Once upon a time").include_usage(true);
    let mut stream = client(&server)
        .openai(server.uri())
        .unwrap()
        .complete_stream(&request)
        .await
        .unwrap();
    let mut text = String::new();
    while let Some(chunk) = stream.try_next().await.unwrap() {
        text.push_str(chunk.text().unwrap_or_default());
    }
    assert_eq!(text, " there was");
    assert_eq!(stream.usage().map(|u| u.total_tokens), Some(5));
    assert!(stream.time_to_first_token().is_some());
    assert!(stream.is_complete());
}

#[tokio::test]
async fn a_json_answer_to_a_streamed_request_is_an_error() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "error": {"message": "streaming is disabled", "type": "invalid_request_error"},
        })))
        .mount(&server)
        .await;
    let error = client(&server)
        .openai(server.uri())
        .unwrap()
        .chat_stream(&chat_request())
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::Api { status: 200, message, .. } if message == "streaming is disabled"),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_body_cut_short_ends_the_stream_without_done() {
    let server = MockServer::start().await;
    let body = concat!(
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}]}\n\n",
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"}}]}\n",
    );
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(event_stream(body))
        .mount(&server)
        .await;
    let mut stream = client(&server)
        .openai(server.uri())
        .unwrap()
        .chat_stream(&chat_request())
        .await
        .unwrap();
    let chunks: Vec<_> = (&mut stream).try_collect().await.unwrap();
    // The event whose blank line never came is dropped.
    assert_eq!(chunks.len(), 1);
    assert!(!stream.is_complete());
    assert!(stream.usage().is_none());
}

#[test]
fn a_bad_serving_url_is_a_config_error() {
    let client = Client::builder("http://localhost:1").build().unwrap();
    for bad in [
        "llama.team-a",
        "ftp://llama.team-a",
        "https://llama.team-a/?x=1",
        "mailto:a@b",
    ] {
        let error = client.openai(bad).unwrap_err();
        assert!(
            matches!(
                error,
                Error::Config {
                    field: "serving_url",
                    ..
                }
            ),
            "{bad}: {error:?}"
        );
    }
    let path_routed = client.openai("http://gateway:8080/team-a/llama").unwrap();
    assert_eq!(
        path_routed.base_url().as_str(),
        "http://gateway:8080/team-a/llama/v1/"
    );
}
