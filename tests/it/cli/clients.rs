//! `sportello clients add|list|revoke`: a key is printed once and stored only as a hash.

use sportello::cli::clients::{ClientsAction, run};
use sportello::http::auth::{KeyFile, sha256_hex};
use std::path::PathBuf;

fn rules() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/rules"))
}

#[test]
fn add_list_revoke() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys/api-keys.json");
    let now = "2026-12-02T09:00:00Z".parse().unwrap();

    let (out, code) =
        run(ClientsAction::Add { client: "io".into(), keys: keys.clone(), rules: rules(), expires_in: None }, now);
    assert_eq!(code, 0, "{out}");
    let key = out.lines().map(str::trim).find(|l| l.starts_with("spk_")).expect("the key is printed").to_string();
    let stored = std::fs::read_to_string(&keys).unwrap();
    assert!(!stored.contains(&key), "the file never holds the key");
    assert!(stored.contains(&sha256_hex(key.as_bytes())));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&keys).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let file = KeyFile::read(&keys).unwrap();
    assert_eq!(file.client_of(&key).map(|k| k.client.as_str()), Some("io"));
    assert!(file.client_of(&format!("{key}x")).is_none());
    let id = file.keys[0].id.clone();

    let (out, code) = run(ClientsAction::List { keys: keys.clone() }, now);
    assert_eq!(code, 0);
    assert!(out.contains(&id) && out.contains("io") && out.contains("active") && !out.contains(&key), "{out}");

    let (out, code) = run(ClientsAction::Revoke { key_id: id.clone(), keys: keys.clone() }, now);
    assert_eq!((code, out.as_str()), (0, format!("revoked key {id}\n").as_str()));
    assert!(KeyFile::read(&keys).unwrap().client_of(&key).is_none(), "a revoked key opens nothing");
    let (out, _) = run(ClientsAction::List { keys: keys.clone() }, now);
    assert!(out.contains("revoked 2026-12-02T09:00:00Z"), "{out}");

    let (out, code) = run(ClientsAction::Revoke { key_id: "nope".into(), keys: keys.clone() }, now);
    assert_eq!(code, 1);
    assert!(out.contains("no key `nope`"));
}

#[test]
fn unknown_clients_and_broken_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("api-keys.json");
    let now = "2026-12-02T09:00:00Z".parse().unwrap();
    let (out, code) =
        run(ClientsAction::Add { client: "oi".into(), keys: keys.clone(), rules: rules(), expires_in: None }, now);
    assert_eq!(code, 2);
    assert!(out.contains("unknown client `oi` (did you mean `io`?)"), "{out}");
    assert!(!keys.exists(), "nothing written");

    std::fs::write(&keys, "{\"keys\": [{\"id\": 1}]}").unwrap();
    let (out, code) = run(ClientsAction::List { keys: keys.clone() }, now);
    assert_eq!(code, 1);
    assert!(out.contains("is not an API key file (line 1"), "{out}");
}
