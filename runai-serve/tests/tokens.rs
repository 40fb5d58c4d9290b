//! Tokens issued by the embedded control plane verify against its JWKS, carry the claims the
//! gateway's access policies read, and keep verifying after a restart.

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation, decode, decode_header};
use runai_serve::control::{TokenError, TokenIssuer};
use runai_serve::store::{CredentialKind, Store};
use serde_json::Value;

fn verify(token: &str, jwks: &Value) -> Value {
    let set: JwkSet = serde_json::from_value(jwks.clone()).unwrap();
    let kid = decode_header(token).unwrap().kid.unwrap();
    let jwk = set.find(&kid).unwrap();
    let mut validation = Validation::new(jsonwebtoken::Algorithm::ES256);
    validation.set_audience(&["runai"]);
    validation.set_issuer(&["https://runai.localhost"]);
    decode::<Value>(token, &DecodingKey::from_jwk(jwk).unwrap(), &validation)
        .unwrap()
        .claims
}

#[test]
fn service_account_and_access_key_tokens_verify_against_the_jwks() {
    let store = Store::open_in_memory().unwrap();
    let account = store
        .create_credential(CredentialKind::ServiceAccount, "chat-bot", None)
        .unwrap();
    let key = store
        .create_credential(CredentialKind::AccessKey, "laptop", Some("alice@example.com"))
        .unwrap();
    let issuer = TokenIssuer::new(store, "https://runai.localhost");

    let token = issuer
        .issue(&account.credential.client_id, &account.client_secret)
        .unwrap();
    assert_eq!(token.expires_in, 3600);
    assert!(!format!("{token:?}").contains(&token.access_token));
    let claims = verify(&token.access_token, &issuer.jwks().unwrap());
    assert_eq!(claims["preferred_username"], "chat-bot");
    assert_eq!(claims["account_type"], "service_account");
    assert_eq!(claims["client_id"], account.credential.client_id.as_str());
    assert_eq!(
        claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
        3600
    );

    let token = issuer
        .issue(&key.credential.client_id, &key.client_secret)
        .unwrap();
    let claims = verify(&token.access_token, &issuer.jwks().unwrap());
    assert_eq!(claims["email"], "alice@example.com");
    assert_eq!(claims["account_type"], "user");

    assert!(matches!(
        issuer.issue(&account.credential.client_id, "wrong"),
        Err(TokenError::BadCredentials)
    ));
}

#[test]
fn the_signing_key_survives_a_restart() {
    let dir = std::env::temp_dir().join(format!("runai-tokens-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("runai.db");
    let store = Store::open(&path).unwrap();
    let account = store
        .create_credential(CredentialKind::ServiceAccount, "bot", None)
        .unwrap();
    let token = TokenIssuer::new(store, "https://runai.localhost")
        .issue(&account.credential.client_id, &account.client_secret)
        .unwrap();

    // A new process, the same file: the old token still verifies, with one key in the JWKS.
    let issuer = TokenIssuer::new(Store::open(&path).unwrap(), "https://runai.localhost");
    let jwks = issuer.jwks().unwrap();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 1);
    verify(&token.access_token, &jwks);
    std::fs::remove_dir_all(&dir).unwrap();
}
