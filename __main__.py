"""lambda-alb: read the stack's settings, build the service, export its outputs."""

from pathlib import Path

import pulumi

from components.config import load_settings
from components.service import LambdaAlbService

PROJECT_DIR = Path(__file__).resolve().parent

settings = load_settings(PROJECT_DIR)
service = LambdaAlbService(f"{pulumi.get_project()}-{pulumi.get_stack()}", settings, project_dir=PROJECT_DIR)

pulumi.export("url", service.url)
pulumi.export("albDnsName", service.alb_dns_name)
pulumi.export("albArn", service.alb_arn)
pulumi.export("listenerArns", service.listener_arns)
pulumi.export("targetGroupArn", service.target_group_arn)
pulumi.export("functionName", service.function_name)
pulumi.export("functionArn", service.function_arn)
pulumi.export("logGroupName", service.log_group_name)
pulumi.export("accessLogsBucket", service.access_logs_bucket)
pulumi.export("functionVersion", service.function_version)
pulumi.export("liveAliasArn", service.live_alias_arn)
pulumi.export("webAclArn", service.web_acl_arn)
pulumi.export("alarmTopicArn", service.alarm_topic_arn)
pulumi.export("dashboardUrl", service.dashboard_url)
pulumi.export("functions", service.functions_output)
