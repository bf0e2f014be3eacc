"""Tells people when an AWS Config organization rule or pack deployment changes state."""

# The names the function logs and emits metrics under; the CDK app's alarms use the same.
SERVICE = "config-deployment-notifier"
METRICS_NAMESPACE = "ConfigDeploymentNotifier"
