"""The component as the package host builds it for another language: inputs as a plain dict."""

import json

import pulumi

from components.provider import LambdaAlbService

inputs = json.loads(pulumi.Config("test").require("inputs"))
code = pulumi.AssetArchive({"app.py": pulumi.StringAsset("def handler(event, context):\n    return {}\n")})
inputs.setdefault("function", {})["code"] = code
service = LambdaAlbService("pkg", inputs)
pulumi.export("url", service.url)
pulumi.export("functions", service.functions)
