use super::*;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::{Command, Stdio};

/// What writes the layer's files again from the SDK's table (after an SDK upgrade).
const REWRITE: &str = "cargo test --all-features --lib write_the_sdk_layer -- --ignored";

/// The service crates whose clients the functions build; each compiles the table in.
const SDK_CRATES: [&str; 5] =
    ["aws-sdk-dynamodb", "aws-sdk-sqs", "aws-sdk-ses", "aws-sdk-s3", "aws-sdk-secretsmanager"];

fn layer_folder() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("infra/sdk-layer/aws-partitions")
}

/// This machine's target triple, as `rustc -vV` names it.
fn host_triple() -> String {
    let out = Command::new("rustc").arg("-vV").output().expect("rustc -vV runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.lines().find_map(|l| l.strip_prefix("host: ")).expect("rustc -vV names the host").to_string()
}

/// The partition table each SDK crate compiles in, read from its source in Cargo's registry.
/// `cargo metadata` is filtered to this machine's platform: unfiltered, it needs every package
/// of the lock file, those of other platforms too, which a machine that has only built here has
/// never downloaded (and `--offline` then fails).
fn sdk_tables() -> Vec<(String, Value)> {
    let host = host_triple();
    let out = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--all-features", "--offline", "--filter-platform", &host])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(out.status.success(), "cargo metadata: {}", String::from_utf8_lossy(&out.stderr));
    let metadata: Value = serde_json::from_slice(&out.stdout).expect("cargo metadata's JSON");
    let packages = metadata["packages"].as_array().expect("packages");
    SDK_CRATES
        .iter()
        .map(|name| {
            let package =
                packages.iter().find(|p| p["name"] == *name).unwrap_or_else(|| panic!("{name} is a dependency"));
            let manifest = Path::new(package["manifest_path"].as_str().expect("manifest_path"));
            let source = manifest.with_file_name("src/endpoint_lib.rs");
            let text = std::fs::read_to_string(&source).unwrap_or_else(|e| panic!("{}: {e}", source.display()));
            let table = embedded_table(&text).unwrap_or_else(|| panic!("no partition table in {}", source.display()));
            (format!("{name} {}", package["version"].as_str().unwrap_or("?")), table)
        })
        .collect()
}

/// The JSON of the byte-string literal the default table is built from (`new_from_json(b"…")`;
/// the custom table is read with `new_from_json` of a file's bytes).
fn embedded_table(source: &str) -> Option<Value> {
    let start = source.rfind("new_from_json(b\"")? + "new_from_json(b\"".len();
    let mut json = String::new();
    let mut chars = source[start..].chars();
    loop {
        match chars.next()? {
            '"' => break,
            '\\' => match chars.next()? {
                'n' => json.push('\n'),
                't' => json.push('\t'),
                escaped => json.push(escaped),
            },
            c => json.push(c),
        }
    }
    serde_json::from_str(&json).ok()
}

/// The table cut to each partition: its outputs and pattern, and only the regions its pattern
/// does not match or that say more than a description (the resolver looks regions up by name
/// before it tries the patterns, and uses nothing of a region but its outputs).
fn cut_by_partition(table: &Value) -> BTreeMap<String, Value> {
    let partitions = table["partitions"].as_array().expect("partitions");
    partitions
        .iter()
        .map(|partition| {
            let pattern =
                regex_lite::Regex::new(partition["regionRegex"].as_str().expect("regionRegex")).expect("regex");
            let regions: Map<String, Value> = partition["regions"]
                .as_object()
                .expect("regions")
                .iter()
                .filter_map(|(name, region)| {
                    let outputs: Map<String, Value> = region
                        .as_object()?
                        .iter()
                        .filter(|(k, _)| *k != "description")
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect();
                    (!pattern.is_match(name) || !outputs.is_empty()).then(|| (name.clone(), Value::Object(outputs)))
                })
                .collect();
            let mut part = partition.clone();
            part["regions"] = Value::Object(regions);
            let id = partition["id"].as_str().expect("id").to_string();
            (id, json!({ "partitions": [part], "version": table["version"] }))
        })
        .collect()
}

/// The layer's files as the SDK's table gives them (by file name), which crate's table, and the
/// table itself.
fn expected_files() -> (String, Value, BTreeMap<String, String>) {
    let mut tables = sdk_tables();
    let (first, table) = &tables[0];
    for (other, its) in &tables[1..] {
        assert_eq!(
            its, table,
            "{other} and {first} compile in different partition tables: upgrade the SDK crates together"
        );
    }
    let files = cut_by_partition(table)
        .into_iter()
        .map(|(id, part)| (format!("{id}.json"), serde_json::to_string_pretty(&part).expect("JSON") + "\n"))
        .collect();
    let (first, table) = tables.swap_remove(0);
    (first, table, files)
}

#[test]
#[ignore = "writes infra/sdk-layer: run it after an SDK upgrade"]
fn write_the_sdk_layer_from_the_sdk_table() {
    let (_, _, expected) = expected_files();
    let folder = layer_folder();
    std::fs::create_dir_all(&folder).expect("the layer's folder");
    for entry in std::fs::read_dir(&folder).expect("the layer's folder") {
        std::fs::remove_file(entry.expect("an entry").path()).expect("an old file removed");
    }
    for (name, text) in &expected {
        std::fs::write(folder.join(name), text).expect("a partition file written");
    }
}

#[test]
fn the_sdk_layer_holds_the_sdk_table_cut_by_partition() {
    let (first, table, expected) = expected_files();
    let whole_table = table.to_string();
    let folder = layer_folder();
    let redo = format!("run `{REWRITE}` and commit infra/sdk-layer");
    let found: BTreeMap<String, String> = std::fs::read_dir(&folder)
        .unwrap_or_else(|e| panic!("{}: {e}: {redo}", folder.display()))
        .map(|entry| {
            let path = entry.expect("an entry").path();
            let name = path.file_name().expect("a name").to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&path).expect("a partition file"))
        })
        .collect();
    assert_eq!(
        found.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>(),
        "the partitions differ from {first}'s: {redo}"
    );
    for (name, text) in &expected {
        assert_eq!(&found[name], text, "{name} differs from {first}'s table: {redo}");
    }
    // Each file is far smaller than the whole table: what the clients no longer parse.
    let aws = &found["aws.json"];
    assert!(aws.len() * 3 < whole_table.len(), "aws.json is {} bytes", aws.len());
}

/// Every region of the SDK's table, its endpoints resolved by five services' own resolvers,
/// FIPS and dual-stack on and off: with the region's partition file, as with the SDK's table.
#[test]
fn every_region_resolves_with_its_partition_file_as_with_the_sdk_table() {
    let (_, table) = sdk_tables().swap_remove(0);
    let by_partition: Vec<(String, Vec<String>)> = table["partitions"]
        .as_array()
        .expect("partitions")
        .iter()
        .map(|p| {
            let regions = p["regions"].as_object().expect("regions").keys().cloned().collect();
            (p["id"].as_str().expect("id").to_string(), regions)
        })
        .collect();
    let all: Vec<String> = by_partition.iter().flat_map(|(_, r)| r.iter().cloned()).collect();
    let with_sdk_table = endpoints_in_a_process(&all, None);
    assert_eq!(with_sdk_table.len(), all.len() * 4 * 5, "every region resolved: {with_sdk_table:?}");
    assert!(
        with_sdk_table.values().filter(|e| e.starts_with("https://")).count() > all.len() * 5,
        "{with_sdk_table:?}"
    );
    for (id, regions) in &by_partition {
        let file = layer_folder().join(format!("{id}.json"));
        let with_file = endpoints_in_a_process(regions, Some(&file));
        assert_eq!(with_file.len(), regions.len() * 4 * 5, "{id}: every region resolved");
        for (key, endpoint) in &with_file {
            assert_eq!(endpoint, &with_sdk_table[key], "{key} with {}", file.display());
        }
    }
}

/// Endpoints resolved in a child process: the SDK reads its table once per process.
fn endpoints_in_a_process(regions: &[String], partition_file: Option<&Path>) -> BTreeMap<String, String> {
    let test = "adapters::aws::partitions::tests::endpoints_of_the_listed_regions";
    let mut child = Command::new(std::env::current_exe().expect("the test binary"));
    child.args(["--exact", test, "--ignored", "--nocapture", "--test-threads=1"]);
    match partition_file {
        Some(file) => child.env(CUSTOM_PARTITION_VAR, file),
        None => child.env_remove(CUSTOM_PARTITION_VAR),
    };
    // The regions on its standard input: libtest takes no arguments of a test's own.
    child.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut running = child.spawn().expect("the child test runs");
    let mut input = running.stdin.take().expect("its input");
    input.write_all(regions.join(",").as_bytes()).expect("the regions written");
    drop(input);
    let out = running.wait_with_output().expect("the child test ends");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    stdout
        .lines()
        // libtest's "test … " may precede the first line.
        .filter_map(|line| line.split_once("endpoint ").map(|(_, rest)| rest))
        .filter_map(|line| line.split_once(" => "))
        .map(|(key, endpoint)| (key.to_string(), endpoint.to_string()))
        .collect()
}

/// A document in one order whatever the order of its maps.
fn canonical(document: &aws_smithy_types::Document) -> String {
    use aws_smithy_types::Document;
    match document {
        Document::Object(map) => {
            let sorted: BTreeMap<_, _> = map.iter().map(|(k, v)| (k, canonical(v))).collect();
            format!("{sorted:?}")
        }
        Document::Array(items) => format!("{:?}", items.iter().map(canonical).collect::<Vec<_>>()),
        other => format!("{other:?}"),
    }
}

macro_rules! resolved {
    ($sdk:ident, $region:expr, $fips:expr, $dual:expr) => {{
        use $sdk::config::endpoint::{DefaultResolver, Params, ResolveEndpoint};
        let params = Params::builder().region($region).use_fips($fips).use_dual_stack($dual).build().expect("params");
        match DefaultResolver::new().resolve_endpoint(&params).await {
            Ok(endpoint) => {
                let properties: BTreeMap<_, _> = endpoint.properties().iter().map(|(k, v)| (k, canonical(v))).collect();
                format!("{} {properties:?}", endpoint.url())
            }
            Err(e) => format!("error: {e}"),
        }
    }};
}

/// Run by the test above in a process of its own, with the regions (and the table) it names.
#[tokio::test]
#[ignore = "a child process of every_region_resolves_with_its_partition_file_as_with_the_sdk_table"]
async fn endpoints_of_the_listed_regions() {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        return;
    }
    let regions = std::io::read_to_string(stdin).expect("the regions");
    for region in regions.split(',').filter(|r| !r.is_empty()) {
        for (fips, dual) in [(false, false), (true, false), (false, true), (true, true)] {
            let at = format!("{region} fips={fips} dual_stack={dual}");
            println!("endpoint dynamodb {at} => {}", resolved!(aws_sdk_dynamodb, region, fips, dual));
            println!("endpoint sqs {at} => {}", resolved!(aws_sdk_sqs, region, fips, dual));
            println!("endpoint ses {at} => {}", resolved!(aws_sdk_ses, region, fips, dual));
            println!("endpoint s3 {at} => {}", resolved!(aws_sdk_s3, region, fips, dual));
            println!("endpoint secretsmanager {at} => {}", resolved!(aws_sdk_secretsmanager, region, fips, dual));
        }
    }
}

#[test]
fn a_partition_table_that_cannot_be_read_stops_the_init_with_what_to_do() {
    assert_eq!(check_custom_partition(None), Ok(None));
    let empty = check_custom_partition(Some(String::new())).unwrap_err();
    assert!(empty.contains("set but empty") && empty.contains("SdkLayer"), "{empty}");
    let folder = tempfile::tempdir().expect("a folder");
    let missing = folder.path().join("aws.json");
    let error = check_custom_partition(Some(missing.display().to_string())).unwrap_err();
    assert!(error.contains(&missing.display().to_string()) && error.contains("cannot be read"), "{error}");
    assert!(error.contains("remove the variable"), "{error}");
    let not_a_file = check_custom_partition(Some(folder.path().display().to_string())).unwrap_err();
    assert!(not_a_file.contains("not a file"), "{not_a_file}");
    std::fs::write(&missing, "{}").expect("a file");
    assert_eq!(check_custom_partition(Some(missing.display().to_string())), Ok(Some(missing)));
}
