//! Secret settings on AWS: a Lambda function names its secrets in `SPORTELLO_SECRETS` (Secrets
//! Manager ARNs or names, comma-separated) and reads them once, at init, concurrently. Each
//! secret's `SecretString` is a JSON object of settings, the same names the local server reads
//! from its environment:
//!
//! ```json
//! {"SPORTELLO_TARGET_SECRET_PAGOPA_PRIVACY": "…", "SPORTELLO_TARGET_SECRET_THIRD_PARTIES": "…"}
//! ```
//!
//! So no secret is in the function's configuration (which `lambda:GetFunctionConfiguration`
//! shows whole), and the policy of each function grants `secretsmanager:GetSecretValue` on its
//! own secrets only.

use crate::settings::Settings;
use aws_sdk_secretsmanager::error::DisplayErrorContext;

/// The variable that names a function's secrets.
pub const SECRETS_ENV: &str = "SPORTELLO_SECRETS";

/// Reads every secret `SPORTELLO_SECRETS` names into `settings`. An unreadable secret, or one
/// that is not a JSON object of secret settings, fails the init with its name and the reason;
/// no secret value is ever part of an error.
pub async fn load_secrets(client: &aws_sdk_secretsmanager::Client, settings: &mut Settings) -> Result<(), String> {
    let ids: Vec<String> = settings
        .get(SECRETS_ENV)
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|id| !id.is_empty())
        .map(String::from)
        .collect();
    let mut reads = tokio::task::JoinSet::new();
    for (index, id) in ids.iter().enumerate() {
        let (client, id) = (client.clone(), id.clone());
        reads.spawn(async move { (index, client.get_secret_value().secret_id(&id).send().await) });
    }
    let mut values = vec![None; ids.len()];
    while let Some(joined) = reads.join_next().await {
        let (index, read) = joined.map_err(|e| format!("reading a secret stopped: {e}"))?;
        let id = &ids[index];
        let output = read.map_err(|e| format!("cannot read secret {id}: {}", DisplayErrorContext(&e)))?;
        let text = output
            .secret_string
            .ok_or_else(|| format!("secret {id} has no SecretString (a binary secret is not a JSON object)"))?;
        values[index] = Some(text);
    }
    // Added in the order listed: a later secret's value for a name wins.
    for (id, text) in ids.iter().zip(values) {
        settings.add_secret(id, text.as_deref().unwrap_or("{}"))?;
    }
    Ok(())
}
