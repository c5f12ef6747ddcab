//! The SDK's partition table, cut to the function's own partition.
//!
//! Every SDK client parses the SDK's whole table of AWS partitions when it is built: eight
//! partitions, eight regular expressions compiled, fifty-three regions, once per service crate
//! (about 0.38 M instructions a client, three or four clients a function). A function only ever
//! calls its own region, which lies in its stack's partition, so `infra/template.yaml` points the
//! SDK's own setting for a custom table, `SMITHY_CLIENT_SDK_CUSTOM_PARTITION`, at that
//! partition's part of the table (`/opt/aws-partitions/${AWS::Partition}.json`, from the SDK
//! layer, `infra/sdk-layer/`). Each file is the SDK's table cut to one partition, less the
//! regions its pattern already matches (they carry nothing but a description); the tests below
//! check the files against the SDK's table and every region's endpoints against the SDK's own.
//! After an SDK upgrade, `cargo test --all-features --lib write_the_sdk_layer -- --ignored`
//! writes them again.

use std::path::PathBuf;

/// The SDK's setting: the path of a partition table to use instead of its own.
pub const CUSTOM_PARTITION_VAR: &str = "SMITHY_CLIENT_SDK_CUSTOM_PARTITION";

/// Refuses to start when the SDK is pointed at a partition table it cannot read: the SDK would
/// panic when it builds the first client, with no word on what to do.
pub fn check_custom_partition(value: Option<String>) -> Result<Option<PathBuf>, String> {
    let Some(value) = value else { return Ok(None) };
    let advice =
        "deploy the SDK layer (infra/template.yaml, SdkLayer) or remove the variable to use the SDK's own table";
    if value.is_empty() {
        return Err(format!("{CUSTOM_PARTITION_VAR} is set but empty: {advice}"));
    }
    let path = PathBuf::from(value);
    match std::fs::metadata(&path) {
        Ok(m) if m.is_file() => Ok(Some(path)),
        Ok(_) => Err(format!("{CUSTOM_PARTITION_VAR} names `{}`, which is not a file: {advice}", path.display())),
        Err(e) => {
            Err(format!("{CUSTOM_PARTITION_VAR} names `{}`, which cannot be read ({e}): {advice}", path.display()))
        }
    }
}

#[cfg(test)]
mod tests;
