//! What the blocking and the asyncio client do, once: each call turns its Python arguments
//! into Rust values (holding the GIL), then returns a `'static` future that runs on the
//! runtime without it.

use std::future::Future;
use std::str::FromStr;
use std::time::Duration;

use futures_util::TryStreamExt;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use runai_client::catalog::{ModelSearch, ModelSort};
use runai_client::openai::{ChatCompletionRequest, ChatMessage, StringOrList};
use runai_client::{Credentials, RetryPolicy, WaitOptions};
use runai_core::list::{Filter, ListQuery, SortOrder};
use runai_core::{
    InferenceCreationRequest, InferenceMetricType, InferenceUpdateRequest, MetricsQuery, Phase,
};
use serde_json::{Value, json};

use super::convert::{Json, document, json, value};
use super::errors::Failure;
use crate::models;

/// A future of a call's result.
pub(crate) type Call<T = Json> = std::pin::Pin<Box<dyn Future<Output = Result<T, Failure>> + Send>>;

fn call<T, F>(future: F) -> Call<T>
where
    F: Future<Output = Result<T, Failure>> + Send + 'static,
{
    Box::pin(future)
}

/// The settings of a client, as Python gives them.
#[derive(Debug)]
pub(crate) struct Settings {
    pub(crate) base_url: String,
    pub(crate) client_id: Option<String>,
    pub(crate) client_secret: Option<String>,
    pub(crate) token: Option<String>,
    pub(crate) oauth2: bool,
    pub(crate) timeout: f64,
    pub(crate) connect_timeout: f64,
    pub(crate) retries: Option<usize>,
    pub(crate) user_agent: Option<String>,
}

fn seconds(name: &'static str, value: f64) -> Result<Duration, Failure> {
    Duration::try_from_secs_f64(value)
        .map_err(|_| Failure::argument(name, format!("{value} is not a number of seconds")))
}

/// The client the settings describe.
pub(crate) fn build(settings: Settings) -> Result<runai_client::Client, Failure> {
    let credentials = match (settings.token, settings.client_id, settings.client_secret) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
            return Err(Failure::argument(
                "token",
                "give either a token or a client id and secret, not both".to_owned(),
            ));
        }
        (Some(token), None, None) => Credentials::Bearer(token),
        (None, Some(client_id), Some(client_secret)) if settings.oauth2 => {
            Credentials::OAuth2ClientCredentials {
                client_id,
                client_secret,
            }
        }
        (None, Some(id), Some(secret)) => Credentials::client_credentials(id, secret),
        (None, Some(_), None) | (None, None, Some(_)) => {
            return Err(Failure::argument(
                "client_secret",
                "give both client_id and client_secret".to_owned(),
            ));
        }
        (None, None, None) => Credentials::None,
    };
    let mut builder = runai_client::Client::builder(settings.base_url)
        .credentials(credentials)
        .timeout(seconds("timeout", settings.timeout)?)
        .connect_timeout(seconds("connect_timeout", settings.connect_timeout)?);
    if let Some(retries) = settings.retries {
        builder = builder.retry(RetryPolicy::default().max_retries(retries));
    }
    if let Some(user_agent) = settings.user_agent {
        builder = builder.user_agent(user_agent);
    }
    Ok(builder.build()?)
}

/// The control plane's token now; `None` without credentials.
pub(crate) fn token(client: &runai_client::Client) -> Call {
    let client = client.clone();
    call(async move { Ok(Json(json!(client.token().await?))) })
}

/// `POST /api/v1/workloads/inferences` with a validated request.
pub(crate) fn create_inference(
    client: &runai_client::Client,
    request: Option<&Bound<'_, PyAny>>,
    fields: Option<&Bound<'_, PyDict>>,
) -> Result<Call, Failure> {
    let request: InferenceCreationRequest = models::parse(document(request, fields)?)?;
    let client = client.clone();
    Ok(call(
        async move { json(&client.inferences().create(&request).await?) },
    ))
}

/// One inference workload with its spec.
pub(crate) fn get_inference(client: &runai_client::Client, id: String) -> Call {
    let client = client.clone();
    call(async move { json(&client.inferences().get(&id).await?) })
}

/// A rolling update with a validated request (`{"spec": {...}}`).
pub(crate) fn update_inference(
    client: &runai_client::Client,
    id: String,
    update: Option<&Bound<'_, PyAny>>,
    fields: Option<&Bound<'_, PyDict>>,
) -> Result<Call, Failure> {
    let update: InferenceUpdateRequest = models::parse(document(update, fields)?)?;
    let client = client.clone();
    Ok(call(async move {
        json(&client.inferences().update(&id, &update).await?)
    }))
}

/// Deletes an inference workload.
pub(crate) fn delete_inference(client: &runai_client::Client, id: String) -> Call {
    let client = client.clone();
    call(async move {
        client.inferences().delete(&id).await?;
        Ok(Json(Value::Null))
    })
}

/// The revisions of an inference workload.
pub(crate) fn revisions(client: &runai_client::Client, id: String) -> Call {
    let client = client.clone();
    call(async move { json(&client.inferences().revisions(&id).await?) })
}

/// Metrics of an inference workload, with `partial` set when the server left some out.
pub(crate) fn metrics(
    client: &runai_client::Client,
    id: String,
    types: &[String],
    start: String,
    end: String,
    samples: Option<u16>,
) -> Call {
    let types = types.iter().map(|t| InferenceMetricType::from(t.as_str()));
    let mut query = MetricsQuery::new(types, start, end);
    if let Some(samples) = samples {
        query = query.samples(samples);
    }
    let client = client.clone();
    call(async move {
        let metrics = client.inferences().metrics(&id, &query).await?;
        let mut out = json(&metrics.response)?.0;
        if let Some(fields) = out.as_object_mut() {
            fields.insert("partial".to_owned(), Value::Bool(metrics.partial));
        }
        Ok(Json(out))
    })
}

/// The status view of one workload.
pub(crate) fn get_workload(client: &runai_client::Client, id: String) -> Call {
    let client = client.clone();
    call(async move { json(&client.workloads().get(&id).await?) })
}

/// A list query from Python's keyword arguments.
#[derive(Debug, Default)]
pub(crate) struct ListArgs {
    pub(crate) filter: Vec<String>,
    pub(crate) sort_by: Option<String>,
    pub(crate) sort_order: Option<String>,
    pub(crate) search: Option<String>,
    pub(crate) limit: Option<u16>,
    pub(crate) offset: Option<u32>,
    pub(crate) deleted: Option<bool>,
}

impl ListArgs {
    fn query(self) -> Result<ListQuery, Failure> {
        let mut query = ListQuery {
            offset: self.offset,
            limit: self.limit,
            search: self.search,
            deleted: self.deleted,
            ..ListQuery::default()
        };
        for expression in &self.filter {
            let filter =
                Filter::from_str(expression).map_err(|e| Failure::argument("filter", e.to_string()))?;
            query = query.filter(filter);
        }
        if let Some(field) = self.sort_by {
            let order = match self.sort_order.as_deref().map(str::to_ascii_lowercase).as_deref() {
                None | Some("asc") => SortOrder::Asc,
                Some("desc") => SortOrder::Desc,
                Some(other) => {
                    return Err(Failure::argument(
                        "sort_order",
                        format!("`{other}` is not a sort order; give asc or desc"),
                    ));
                }
            };
            query = query.sort(field, order);
        }
        Ok(query)
    }
}

/// One page of workloads: `{"items": [...], "next": offset or None}`.
pub(crate) fn list_workloads(client: &runai_client::Client, args: ListArgs) -> Result<Call, Failure> {
    let query = args.query()?;
    let client = client.clone();
    Ok(call(async move {
        let page = client.workloads().list(&query).await?;
        Ok(Json(json!({"items": json(&page.items)?.0, "next": page.next})))
    }))
}

/// Every workload the query matches, page after page.
pub(crate) fn all_workloads(client: &runai_client::Client, args: ListArgs) -> Result<Call, Failure> {
    let query = args.query()?;
    let client = client.clone();
    Ok(call(async move {
        let all: Vec<_> = client.workloads().list_all(query).try_collect().await?;
        json(&all)
    }))
}

/// Waits until the workload is in `phase`.
pub(crate) fn wait_for(
    client: &runai_client::Client,
    id: String,
    phase: &str,
    timeout: f64,
    interval: f64,
) -> Result<Call, Failure> {
    let phase = Phase::from(phase);
    let options = WaitOptions::default()
        .timeout(seconds("timeout", timeout)?)
        .interval(seconds("interval", interval)?);
    let client = client.clone();
    Ok(call(async move {
        json(&client.workloads().wait_for(&id, phase, options, |_| {}).await?)
    }))
}

/// A Hugging Face Hub search from Python's keyword arguments.
#[derive(Debug, Default)]
pub(crate) struct SearchArgs {
    pub(crate) search: Option<String>,
    pub(crate) author: Option<String>,
    pub(crate) pipeline_tag: Option<String>,
    pub(crate) library: Option<String>,
    pub(crate) tags: Vec<String>,
    pub(crate) sort: Option<String>,
    pub(crate) limit: Option<u32>,
    pub(crate) hub_url: Option<String>,
    pub(crate) hub_token: Option<String>,
}

/// One page of Hub models, most relevant first.
pub(crate) fn search_models(client: &runai_client::Client, args: SearchArgs) -> Result<Call, Failure> {
    let mut search = ModelSearch::new();
    if let Some(text) = args.search {
        search = search.search(text);
    }
    if let Some(author) = args.author {
        search = search.author(author);
    }
    if let Some(task) = args.pipeline_tag {
        search = search.pipeline_tag(task);
    }
    if let Some(library) = args.library {
        search = search.library(library);
    }
    for tag in args.tags {
        search = search.filter(tag);
    }
    if let Some(sort) = args.sort {
        search = search.sort(ModelSort::from_str(&sort)?);
    }
    if let Some(limit) = args.limit {
        search = search.limit(limit);
    }
    let client = client.clone();
    Ok(call(async move {
        let mut hub = client.huggingface();
        if let Some(url) = args.hub_url {
            hub = hub.base_url(url);
        }
        if let Some(token) = args.hub_token {
            hub = hub.token(token);
        }
        json(&hub.search(&search).await?.items)
    }))
}

/// How a call to a serving URL authenticates.
#[derive(Debug, Clone)]
pub(crate) enum ServingAuth {
    /// The control plane's token.
    ControlPlane,
    /// A token of its own.
    Token(String),
    /// None.
    Anonymous,
}

impl ServingAuth {
    pub(crate) fn new(token: Option<String>, anonymous: bool) -> Result<Self, Failure> {
        match (token, anonymous) {
            (Some(_), true) => Err(Failure::argument(
                "anonymous",
                "give a token or anonymous=True, not both".to_owned(),
            )),
            (Some(token), false) => Ok(Self::Token(token)),
            (None, true) => Ok(Self::Anonymous),
            (None, false) => Ok(Self::ControlPlane),
        }
    }

    fn apply<'a>(&self, api: runai_client::openai::OpenAi<'a>) -> runai_client::openai::OpenAi<'a> {
        match self {
            Self::ControlPlane => api,
            Self::Token(token) => api.token(token.clone()),
            Self::Anonymous => api.anonymous(),
        }
    }
}

/// A chat completion request from Python's arguments.
#[derive(Debug)]
pub(crate) struct ChatArgs {
    pub(crate) url: String,
    pub(crate) auth: ServingAuth,
    pub(crate) request: ChatCompletionRequest,
}

impl ChatArgs {
    /// `messages` is a string (one user message) or a list of `{"role", "content", ...}`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        url: String,
        messages: &Bound<'_, PyAny>,
        model: String,
        max_tokens: Option<u32>,
        temperature: Option<f64>,
        top_p: Option<f64>,
        stop: Option<&Bound<'_, PyAny>>,
        auth: ServingAuth,
        extra: Option<&Bound<'_, PyDict>>,
    ) -> Result<Self, Failure> {
        let messages: Vec<ChatMessage> = match messages.extract::<String>() {
            Ok(text) => vec![ChatMessage::user(text)],
            Err(_) => serde_json::from_value(value(messages, "messages")?).map_err(|e| {
                Failure::argument(
                    "messages",
                    format!("give a str or a list of {{\"role\": ..., \"content\": ...}} dicts ({e})"),
                )
            })?,
        };
        let mut request = ChatCompletionRequest::new(model, messages);
        request.max_tokens = max_tokens;
        request.temperature = temperature;
        request.top_p = top_p;
        if let Some(stop) = stop.filter(|s| !s.is_none()) {
            let stop: StringOrList = serde_json::from_value(value(stop, "stop")?)
                .map_err(|e| Failure::argument("stop", format!("give a str or a list of str ({e})")))?;
            request.stop = Some(stop);
        }
        if let Some(extra) = extra {
            for (key, item) in extra.iter() {
                let key: String = key
                    .extract()
                    .map_err(|_| Failure::argument("extra", "keyword names must be strings".to_owned()))?;
                request.extra.insert(key, value(&item, "extra")?);
            }
        }
        Ok(Self { url, auth, request })
    }
}

/// A chat completion, whole.
pub(crate) fn chat(client: &runai_client::Client, args: ChatArgs) -> Call {
    let client = client.clone();
    call(async move {
        let api = args.auth.apply(client.openai(&args.url)?);
        json(&api.chat(&args.request).await?)
    })
}

/// A chat completion as a stream of chunks, with the usage at the end.
pub(crate) fn chat_stream(
    client: &runai_client::Client,
    args: ChatArgs,
) -> Call<runai_client::openai::ChatStream> {
    let client = client.clone();
    call(async move {
        let api = args.auth.apply(client.openai(&args.url)?);
        let request = args.request.include_usage(true);
        Ok(api.chat_stream(&request).await?)
    })
}
