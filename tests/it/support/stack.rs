//! infra/template.yaml as CloudFormation would deploy it, on moto: SAM's own transform
//! (`scripts/sam_translate.py`, offline) expands the template, then the resources the functions
//! reach (the table, the queues, the secrets, the inbound-mail bucket) are created on moto, and
//! each function's environment and IAM policies are evaluated against them: intrinsic functions,
//! conditions, parameters, pseudo parameters.
//!
//! What the evaluation gives: the environment a function gets (with moto's URLs and ARNs in it),
//! and whether its policies allow an action on a resource, with IAM's wildcard matching.

use super::moto::sdk_config;
use aws_config::SdkConfig;
use serde_json::{Value, json};
use sportello::adapters::aws::{IamAccess, Resource, table};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

pub const REGION: &str = "eu-south-1";
/// moto's account.
pub const ACCOUNT: &str = "123456789012";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The CloudFormation template SAM's transform makes of infra/template.yaml.
pub fn transformed_template() -> Value {
    let python = root().join(".venv/bin/python");
    assert!(python.exists(), "{} not found: run scripts/test-env.sh (it installs the SAM CLI)", python.display());
    let out = Command::new(python)
        .arg(root().join("scripts/sam_translate.py"))
        .arg(root().join("infra/template.yaml"))
        .env("AWS_DEFAULT_REGION", REGION)
        .output()
        .expect("run scripts/sam_translate.py");
    assert!(out.status.success(), "SAM's transform failed:\n{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("the transform prints JSON")
}

/// The AWS managed policies SAM attaches, as AWS publishes them (IAM's policy reference):
/// functions may not rely on anything else of theirs.
fn aws_managed_policy(arn: &str) -> Option<Value> {
    let name = arn.rsplit('/').next()?;
    let statement = |actions: &[&str]| json!([{"Effect": "Allow", "Action": actions, "Resource": "*"}]);
    Some(match name {
        "AWSLambdaBasicExecutionRole" => {
            statement(&["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"])
        }
        "AWSXrayWriteOnlyAccess" => statement(&[
            "xray:PutTraceSegments",
            "xray:PutTelemetryRecords",
            "xray:GetSamplingRules",
            "xray:GetSamplingTargets",
            "xray:GetSamplingStatisticSummaries",
        ]),
        "AWSLambdaDynamoDBExecutionRole" => statement(&[
            "dynamodb:DescribeStream",
            "dynamodb:GetRecords",
            "dynamodb:GetShardIterator",
            "dynamodb:ListStreams",
            "logs:CreateLogGroup",
            "logs:CreateLogStream",
            "logs:PutLogEvents",
        ]),
        "AWSLambdaSQSQueueExecutionRole" => statement(&[
            "sqs:ReceiveMessage",
            "sqs:DeleteMessage",
            "sqs:GetQueueAttributes",
            "logs:CreateLogGroup",
            "logs:CreateLogStream",
            "logs:PutLogEvents",
        ]),
        _ => return None,
    })
}

/// The template, deployed on moto as far as the functions reach.
pub struct Stack {
    pub config: SdkConfig,
    pub name: String,
    pub template: Value,
    refs: BTreeMap<String, Value>,
    attrs: BTreeMap<String, Value>,
    conditions: BTreeMap<String, bool>,
    /// The values of each secret the stack created, by its ARN.
    pub secret_values: BTreeMap<String, BTreeMap<String, String>>,
}

impl Stack {
    /// Deploys the transformed template with `parameters` (the others take their defaults).
    pub async fn deploy(parameters: &[(&str, &str)]) -> Stack {
        let template = transformed_template();
        let server = tokio::task::spawn_blocking(super::moto::server).await.expect("moto");
        let config = sdk_config(server).await;
        let tag = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
        let name = format!("grants-{tag}");
        let mut stack = Stack {
            config,
            name: name.clone(),
            template,
            refs: BTreeMap::new(),
            attrs: BTreeMap::new(),
            conditions: BTreeMap::new(),
            secret_values: BTreeMap::new(),
        };
        for (k, v) in [
            ("AWS::Region", REGION.to_string()),
            ("AWS::AccountId", ACCOUNT.to_string()),
            ("AWS::Partition", "aws".to_string()),
            ("AWS::StackName", name.clone()),
            ("AWS::URLSuffix", "amazonaws.com".to_string()),
            ("AWS::StackId", format!("arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{name}/{tag}")),
        ] {
            stack.refs.insert(k.into(), Value::String(v));
        }
        let given: BTreeMap<&str, &str> = parameters.iter().copied().collect();
        let params = stack.template["Parameters"].as_object().cloned().unwrap_or_default();
        for (p, spec) in params {
            let value = match given.get(p.as_str()) {
                Some(v) => v.to_string(),
                None => spec["Default"]
                    .as_str()
                    .map(str::to_string)
                    .or_else(|| spec["Default"].as_u64().map(|n| n.to_string()))
                    .unwrap_or_else(|| panic!("parameter {p} has no default: give it")),
            };
            let value = if spec["Type"] == "CommaDelimitedList" {
                Value::Array(value.split(',').map(|s| Value::String(s.trim().to_string())).collect())
            } else {
                Value::String(value)
            };
            stack.refs.insert(p, value);
        }
        let conditions = stack.template["Conditions"].as_object().cloned().unwrap_or_default();
        for name in conditions.keys() {
            let holds = stack.condition(name);
            stack.conditions.insert(name.clone(), holds);
        }
        stack.create_resources().await;
        stack
    }

    fn condition(&self, name: &str) -> bool {
        if let Some(held) = self.conditions.get(name) {
            return *held;
        }
        let spec = self.template["Conditions"][name].clone();
        assert!(!spec.is_null(), "no condition {name}");
        self.truth(&spec)
    }

    fn truth(&self, v: &Value) -> bool {
        let (key, args) = v.as_object().and_then(|o| o.iter().next()).expect("a condition function");
        match key.as_str() {
            "Fn::Equals" => self.eval(&args[0]) == self.eval(&args[1]),
            "Fn::Not" => !self.truth(&args[0]),
            "Fn::And" => args.as_array().unwrap().iter().all(|a| self.truth(a)),
            "Fn::Or" => args.as_array().unwrap().iter().any(|a| self.truth(a)),
            "Condition" => self.condition(args.as_str().unwrap()),
            other => panic!("condition function {other} not evaluated here"),
        }
    }

    fn resources(&self) -> Vec<(String, Value)> {
        self.template["Resources"]
            .as_object()
            .expect("Resources")
            .iter()
            .filter(|(_, r)| r["Condition"].as_str().is_none_or(|c| self.condition(c)))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// Creates what the functions use, in an order that lets each refer to the ones before.
    async fn create_resources(&mut self) {
        let dynamodb = aws_sdk_dynamodb::Client::new(&self.config);
        let sqs = aws_sdk_sqs::Client::new(&self.config);
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&self.config).force_path_style(true).build(),
        );
        let secrets = aws_sdk_secretsmanager::Client::new(&self.config);
        let resources = self.resources();
        // Names and ARNs of everything, as CloudFormation would give them.
        for (id, r) in &resources {
            let physical = format!("{}-{}", self.name, id);
            let arn = |service: &str, resource: &str| format!("arn:aws:{service}:{REGION}:{ACCOUNT}:{resource}");
            let (reference, attrs): (String, Vec<(&str, String)>) = match r["Type"].as_str().unwrap() {
                "AWS::IAM::Role" => {
                    (physical.clone(), vec![("Arn", format!("arn:aws:iam::{ACCOUNT}:role/{physical}"))])
                }
                "AWS::IAM::ManagedPolicy" => (format!("arn:aws:iam::{ACCOUNT}:policy/{physical}"), vec![]),
                "AWS::Lambda::Function" => {
                    (physical.clone(), vec![("Arn", arn("lambda", &format!("function:{physical}")))])
                }
                "AWS::SNS::Topic" => (arn("sns", &physical), vec![("TopicArn", arn("sns", &physical))]),
                "AWS::KMS::Key" => (physical.clone(), vec![("Arn", arn("kms", &format!("key/{physical}")))]),
                // The console's app client: Cognito generates its secret.
                "AWS::Cognito::UserPoolClient" => {
                    (physical.clone(), vec![("ClientSecret", format!("{physical}-secret"))])
                }
                _ => (physical.clone(), vec![("Arn", arn("placeholder", &physical))]),
            };
            self.refs.insert(id.clone(), Value::String(reference));
            for (attr, value) in attrs {
                self.attrs.insert(format!("{id}.{attr}"), Value::String(value));
            }
        }
        for (id, r) in &resources {
            let props = &r["Properties"];
            match r["Type"].as_str().unwrap() {
                "AWS::DynamoDB::Table" => {
                    // The adapter's own table definition; tests/it/infra/mod.rs checks the
                    // template declares the same keys and indexes.
                    let name = format!("{}-{id}", self.name);
                    table::create_table(&dynamodb, &name).await.expect("create the table");
                    self.refs.insert(id.clone(), json!(name));
                    self.attrs.insert(
                        format!("{id}.Arn"),
                        json!(format!("arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}")),
                    );
                }
                "AWS::SQS::Queue" => {
                    let name = match props.get("QueueName") {
                        Some(n) => self.eval(n).as_str().expect("a queue name").to_string(),
                        None => format!("{}-{id}", self.name),
                    };
                    let url =
                        sqs.create_queue().queue_name(&name).send().await.expect("create queue").queue_url.unwrap();
                    self.refs.insert(id.clone(), json!(url));
                    self.attrs.insert(format!("{id}.Arn"), json!(format!("arn:aws:sqs:{REGION}:{ACCOUNT}:{name}")));
                    self.attrs.insert(format!("{id}.QueueName"), json!(name));
                    self.attrs.insert(format!("{id}.QueueUrl"), json!(url));
                }
                "AWS::S3::Bucket" => {
                    let name = format!("{}-{}", self.name, id.to_ascii_lowercase());
                    s3.create_bucket()
                        .bucket(&name)
                        .create_bucket_configuration(
                            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(REGION))
                                .build(),
                        )
                        .send()
                        .await
                        .expect("create bucket");
                    self.refs.insert(id.clone(), json!(name));
                    self.attrs.insert(format!("{id}.Arn"), json!(format!("arn:aws:s3:::{name}")));
                }
                "AWS::SecretsManager::Secret" => {
                    let values: BTreeMap<String, String> = if let Some(text) = props.get("SecretString") {
                        let text = self.eval(text);
                        serde_json::from_str(text.as_str().unwrap()).expect("SecretString is a JSON object of strings")
                    } else {
                        let spec = &props["GenerateSecretString"];
                        let mut values: BTreeMap<String, String> = match &spec["SecretStringTemplate"] {
                            Value::Null => BTreeMap::new(),
                            // A template may be built with intrinsics (`!Sub` of another value).
                            template => serde_json::from_str(self.eval(template).as_str().unwrap()).unwrap(),
                        };
                        let key = spec["GenerateStringKey"].as_str().expect("GenerateStringKey").to_string();
                        let length = spec["PasswordLength"].as_u64().unwrap_or(32) as usize;
                        let random: String = std::iter::repeat_with(|| uuid::Uuid::new_v4().simple().to_string())
                            .flat_map(|s| s.chars().collect::<Vec<_>>())
                            .take(length)
                            .collect();
                        values.insert(key, random);
                        values
                    };
                    let created = secrets
                        .create_secret()
                        .name(format!("{}/{id}", self.name))
                        .secret_string(serde_json::to_string(&values).unwrap())
                        .send()
                        .await
                        .expect("create secret");
                    let arn = created.arn.expect("an ARN");
                    self.refs.insert(id.clone(), json!(arn));
                    self.secret_values.insert(arn, values);
                }
                _ => {}
            }
        }
    }

    /// A value with its intrinsic functions worked out.
    pub fn eval(&self, v: &Value) -> Value {
        let Some(object) = v.as_object() else {
            return match v {
                Value::Array(items) => {
                    Value::Array(items.iter().map(|i| self.eval(i)).filter(|i| !is_no_value(i)).collect())
                }
                other => other.clone(),
            };
        };
        if object.len() == 1 {
            let (key, args) = object.iter().next().unwrap();
            match key.as_str() {
                "Ref" => {
                    let name = args.as_str().unwrap();
                    if name == "AWS::NoValue" {
                        return json!({"AWS::NoValue": true});
                    }
                    return self.refs.get(name).cloned().unwrap_or_else(|| panic!("Ref {name}: unknown"));
                }
                "Fn::GetAtt" => {
                    let path = match args {
                        Value::Array(a) => format!("{}.{}", a[0].as_str().unwrap(), a[1].as_str().unwrap()),
                        Value::String(s) => s.clone(),
                        _ => panic!("Fn::GetAtt {args}"),
                    };
                    return self.attrs.get(&path).cloned().unwrap_or_else(|| panic!("Fn::GetAtt {path}: unknown"));
                }
                "Fn::Sub" => {
                    let (text, vars) = match args {
                        Value::String(s) => (s.as_str(), serde_json::Map::new()),
                        Value::Array(a) => (a[0].as_str().unwrap(), a[1].as_object().cloned().unwrap_or_default()),
                        _ => panic!("Fn::Sub {args}"),
                    };
                    return Value::String(self.substitute(text, &vars));
                }
                "Fn::Join" => {
                    let separator = args[0].as_str().unwrap();
                    let parts = self.eval(&args[1]);
                    let parts: Vec<String> = flatten(&parts).iter().map(text_of).collect();
                    return Value::String(parts.join(separator));
                }
                "Fn::If" => {
                    let branch = if self.condition(args[0].as_str().unwrap()) { &args[1] } else { &args[2] };
                    return self.eval(branch);
                }
                "Fn::Select" => {
                    let index = text_of(&self.eval(&args[0])).parse::<usize>().unwrap();
                    return flatten(&self.eval(&args[1]))[index].clone();
                }
                "Fn::Split" => {
                    let separator = args[0].as_str().unwrap();
                    let whole = text_of(&self.eval(&args[1]));
                    return Value::Array(whole.split(separator).map(|s| json!(s)).collect());
                }
                k if k.starts_with("Fn::") => panic!("{k} is not evaluated here"),
                _ => {}
            }
        }
        Value::Object(object.iter().map(|(k, v)| (k.clone(), self.eval(v))).filter(|(_, v)| !is_no_value(v)).collect())
    }

    fn substitute(&self, text: &str, vars: &serde_json::Map<String, Value>) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let end = rest[start..].find('}').expect("a closing brace") + start;
            let name = &rest[start + 2..end];
            if let Some(literal) = name.strip_prefix('!') {
                out.push_str(&format!("${{{literal}}}"));
            } else if let Some(v) = vars.get(name) {
                out.push_str(&text_of(&self.eval(v)));
            } else if let Some(v) = self.refs.get(name) {
                out.push_str(&text_of(v));
            } else if let Some(v) = self.attrs.get(name) {
                out.push_str(&text_of(v));
            } else {
                panic!("Fn::Sub: ${{{name}}} is unknown");
            }
            rest = &rest[end + 1..];
        }
        out.push_str(rest);
        out
    }

    /// The logical ids of the functions (AWS::Lambda::Function) and their binaries.
    pub fn functions(&self) -> BTreeMap<String, String> {
        let sam = std::fs::read_to_string(root().join("infra/template.yaml")).unwrap();
        let sam: Value = serde_saphyr::from_str(&sam).expect("the template is YAML");
        self.resources()
            .into_iter()
            .filter(|(_, r)| r["Type"] == "AWS::Lambda::Function")
            .map(|(id, _)| {
                let binary = sam["Resources"][&id]["Metadata"]["BuildProperties"]["Binary"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{id}: no BuildProperties.Binary"))
                    .to_string();
                (id, binary)
            })
            .collect()
    }

    /// A function's environment, as Lambda would give it (Globals merged by SAM).
    pub fn environment(&self, function: &str) -> BTreeMap<String, String> {
        let variables = &self.template["Resources"][function]["Properties"]["Environment"]["Variables"];
        let evaluated = self.eval(variables);
        evaluated.as_object().map(|o| o.iter().map(|(k, v)| (k.clone(), text_of(v))).collect()).unwrap_or_default()
    }

    /// Every statement of a function's role: its inline policies and the managed ones.
    pub fn statements(&self, function: &str) -> Vec<Value> {
        let role = &self.template["Resources"][function]["Properties"]["Role"];
        let role_id = role["Fn::GetAtt"][0].as_str().unwrap_or_else(|| panic!("{function}: Role is not a GetAtt"));
        self.role_statements(role_id)
    }

    /// Every statement of a role of the stack: its inline policies and the managed ones.
    pub fn role_statements(&self, role_id: &str) -> Vec<Value> {
        let function = role_id;
        let role = &self.template["Resources"][role_id]["Properties"];
        let mut documents: Vec<Value> =
            role["Policies"].as_array().into_iter().flatten().map(|p| self.eval(&p["PolicyDocument"])).collect();
        for managed in role["ManagedPolicyArns"].as_array().into_iter().flatten() {
            if let Some(id) = managed["Ref"].as_str() {
                documents.push(self.eval(&self.template["Resources"][id]["Properties"]["PolicyDocument"]));
            } else {
                let arn = text_of(&self.eval(managed));
                let statements = aws_managed_policy(&arn).unwrap_or_else(|| {
                    panic!("{function}: the managed policy {arn} is not known here: add its statements")
                });
                documents.push(json!({"Statement": statements}));
            }
        }
        documents
            .iter()
            .flat_map(|d| match &d["Statement"] {
                Value::Array(s) => s.clone(),
                one => vec![one.clone()],
            })
            .collect()
    }

    /// The ARN an access needs granted.
    pub fn arn_of(&self, access: &IamAccess) -> Option<String> {
        Some(match &access.resource {
            Resource::Table { name, index: None } => format!("arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"),
            Resource::Table { name, index: Some(i) } => {
                format!("arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}/index/{i}")
            }
            Resource::Queue { url } => {
                let mut parts = url.rsplit('/');
                let (name, account) = (parts.next()?, parts.next()?);
                format!("arn:aws:sqs:{REGION}:{account}:{name}")
            }
            Resource::Object { bucket, key } => format!("arn:aws:s3:::{bucket}/{key}"),
            Resource::Secret { id } if id.starts_with("arn:") => id.clone(),
            Resource::Secret { id } => format!("arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{id}"),
            Resource::Identity { domain } => format!("arn:aws:ses:{REGION}:{ACCOUNT}:identity/{domain}"),
            Resource::Any => "*".to_string(),
            Resource::Unknown => return None,
        })
    }
}

fn is_no_value(v: &Value) -> bool {
    v.get("AWS::NoValue").is_some()
}

fn flatten(v: &Value) -> Vec<Value> {
    match v {
        Value::Array(items) => items.iter().flat_map(flatten).collect(),
        other => vec![other.clone()],
    }
}

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(text_of).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}

/// IAM's wildcards: `*` any run of characters, `?` one.
pub fn wildcard(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items.iter().flat_map(strings).collect(),
        _ => vec![],
    }
}

/// Whether `statements` allow `action` on `arn` (no statement here denies, none has conditions
/// that would narrow it: a statement with a condition does not count).
pub fn allowed(statements: &[Value], action: &str, arn: &str) -> bool {
    statements.iter().any(|s| {
        s["Effect"] == "Allow"
            && s.get("Condition").is_none()
            && strings(&s["Action"]).iter().any(|a| wildcard(&a.to_ascii_lowercase(), &action.to_ascii_lowercase()))
            && strings(&s["Resource"]).iter().any(|r| wildcard(r, arn))
    })
}

/// The secret settings a function can read: the keys of the secrets `SPORTELLO_SECRETS` names.
pub fn secret_names(stack: &Stack, environment: &BTreeMap<String, String>) -> BTreeSet<String> {
    environment
        .get("SPORTELLO_SECRETS")
        .map(|ids| {
            ids.split(',')
                .filter(|id| !id.trim().is_empty())
                .flat_map(|id| {
                    stack.secret_values.get(id.trim()).unwrap_or_else(|| panic!("no secret {id}")).keys().cloned()
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Where the rulebook the layer holds is, for a test (the template mounts it at /opt).
pub fn rules_folder() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("rules")
}
