"""`make demo` (or `python -m demo`): the whole product working on the local sandbox.

The real CDK app is deployed into moto's CloudFormation, and a scenario is played on a simulated
AWS Organization one schedule tick at a time; for each tick the demo shows what every subscriber
received: the email, the Slack card and the JSON document, as SNS accepted them.
"""
