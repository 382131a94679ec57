"""Two services behind their own load balancers, on a network this program creates.

The second service's function learns the first one's URL: Outputs flow between components, and
the network's IDs reach the load balancers before they exist. Run it by hand with your own
credentials (`pip install -r requirements.txt`, then `pulumi up`): the project's pipeline roles
cover the project's own stacks, not a network like this one (docs/delivery.md).
"""

from pathlib import Path

import pulumi
import pulumi_aws as aws
from lambda_alb import (
    FixedResponseArgs,
    FunctionArgs,
    LambdaAlbService,
    LambdaAlbServiceArgs,
    LoadBalancerArgs,
    RouteArgs,
)

# Where function/ (the hello handler) lives; a program of your own points at its own code.
CODE_ROOT = Path(__file__).resolve().parents[2]
region = aws.get_region().region

vpc = aws.ec2.Vpc("net", cidr_block="10.20.0.0/16", enable_dns_hostnames=True, tags={"Name": "lambda-alb-example"})
gateway = aws.ec2.InternetGateway("net-igw", vpc_id=vpc.id)
routes = aws.ec2.RouteTable(
    "net-public", vpc_id=vpc.id, routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id=gateway.id)]
)
subnets = []
for index, zone in enumerate("ab"):
    subnet = aws.ec2.Subnet(
        f"net-public-{zone}", vpc_id=vpc.id, cidr_block=f"10.20.{index}.0/24", availability_zone=f"{region}{zone}"
    )
    aws.ec2.RouteTableAssociation(f"net-public-{zone}", subnet_id=subnet.id, route_table_id=routes.id)
    subnets.append(subnet)

network = LoadBalancerArgs(vpc_id=vpc.id, subnet_ids=[s.id for s in subnets], deletion_protection=False)

api = LambdaAlbService(
    "example-api",
    LambdaAlbServiceArgs(
        function=FunctionArgs(memory_size=512, environment={"APP_ENV": "example"}),
        load_balancer=network,
        routes=(RouteArgs(priority=10, path_patterns=("/health",), fixed_response=FixedResponseArgs(status_code=200)),),
    ),
    project_dir=CODE_ROOT,
)
web = LambdaAlbService(
    "example-web",
    LambdaAlbServiceArgs(
        function=FunctionArgs(environment={"APP_ENV": "example", "API_URL": api.url}),
        load_balancer=network,
        tags={"owner": "example-team"},
    ),
    project_dir=CODE_ROOT,
)

pulumi.export("apiUrl", api.url)
pulumi.export("webUrl", web.url)
