"""Prints the CloudFormation template SAM's transform makes of a SAM template, as JSON, offline.

The same transform `sam validate` runs (and CloudFormation at deploy): SAM policy templates
become IAM statements, events become permissions and routes, Globals are merged. No AWS call is
made; a template that needs one (an AWS managed policy given by name) fails with that reason.

    .venv/bin/python scripts/sam_translate.py infra/template.yaml
"""

import json
import os
import sys

os.environ.setdefault("AWS_DEFAULT_REGION", "eu-south-1")
os.environ.setdefault("SAM_CLI_TELEMETRY", "0")

from samcli.lib.translate.sam_template_validator import SamTemplateValidator  # noqa: E402
from samcli.yamlhelper import yaml_parse  # noqa: E402


class OfflinePolicies:
    """Managed policies by name would need IAM: refuse, and say so."""

    def load(self):
        raise SystemExit("the template names an AWS managed policy by name; give its ARN instead (no AWS call here)")


def main(path):
    with open(path, encoding="utf-8") as f:
        template = yaml_parse(f.read())
    validator = SamTemplateValidator(template, OfflinePolicies(), region=os.environ["AWS_DEFAULT_REGION"])
    print(json.dumps(yaml_parse(validator.get_translated_template_if_valid()), indent=1, sort_keys=True))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: sam_translate.py <SAM template>")
    main(sys.argv[1])
