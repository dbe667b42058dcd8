"""`EksNetwork`: a VPC for a created EKS cluster when the stack gives no subnets.

Two or more AZs (the region's first available ones), each with a public subnet (NAT gateway, load balancers) and a private
subnet (nodes). One NAT gateway in the first AZ keeps the idle cost to a single gateway;
production networks with their own landing zone pass `subnet_ids` instead. Subnets carry
the `kubernetes.io/role/*-elb` tags the AWS Load Balancer Controller discovers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.aws.common import ec2


@dataclass(frozen=True)
class EksNetworkArgs:
    """cluster_name: for subnet discovery tags; zone_count: AZs used, the region's first ones
    (default 2, at least 2); cidr: VPC CIDR (default 10.40.0.0/16, split into /20s); tags."""

    cluster_name: str
    zone_count: int = 2
    cidr: str = "10.40.0.0/16"
    tags: dict[str, str] = field(default_factory=dict)


def _nth(i: int) -> Callable[[list[str]], str]:
    return lambda names: names[i]


def _subnet_cidr(vpc_cidr: str, index: int) -> str:
    """The index-th /20 of a /16."""
    a, b, _, _ = vpc_cidr.split("/")[0].split(".")
    return f"{a}.{b}.{index * 16}.0/20"


class EksNetwork(pulumi.ComponentResource):
    private_subnet_ids: pulumi.Output[list[str]]
    vpc_id: pulumi.Output[str]

    def __init__(self, name: str, args: EksNetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("modelfleet:aws:EksNetwork", name, None, opts)
        if args.zone_count < 2:
            raise ValueError("EKS needs subnets in at least two availability zones")
        child = pulumi.ResourceOptions(parent=self)
        zones = aws.get_availability_zones_output(state="available", opts=pulumi.InvokeOptions(parent=self)).names
        shared = {f"kubernetes.io/cluster/{args.cluster_name}": "shared"}
        vpc = ec2.Vpc(f"{name}-vpc", cidr_block=args.cidr, enable_dns_hostnames=True, enable_dns_support=True,
                          tags={**args.tags, "Name": f"{args.cluster_name}-vpc"}, opts=child)
        igw = ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, tags=args.tags, opts=child)
        public_rt = ec2.RouteTable(f"{name}-public-rt", vpc_id=vpc.id,
                                       routes=[{"cidr_block": "0.0.0.0/0", "gateway_id": igw.id}], tags=args.tags, opts=child)
        publics, privates = [], []
        for i in range(args.zone_count):
            zone = zones.apply(_nth(i))
            public = ec2.Subnet(f"{name}-public-{i}", vpc_id=vpc.id, availability_zone=zone,
                                    cidr_block=_subnet_cidr(args.cidr, i), map_public_ip_on_launch=False,
                                    tags={**args.tags, **shared, "kubernetes.io/role/elb": "1", "Name": f"{args.cluster_name}-public-{i}"},
                                    opts=child)
            ec2.RouteTableAssociation(f"{name}-public-{i}-rta", subnet_id=public.id, route_table_id=public_rt.id, opts=child)
            publics.append(public)
        eip = ec2.Eip(f"{name}-nat-eip", domain="vpc", tags=args.tags, opts=child)
        nat = ec2.NatGateway(f"{name}-nat", subnet_id=publics[0].id, allocation_id=eip.id, tags=args.tags,
                                 opts=pulumi.ResourceOptions(parent=self, depends_on=[igw]))
        private_rt = ec2.RouteTable(f"{name}-private-rt", vpc_id=vpc.id,
                                        routes=[{"cidr_block": "0.0.0.0/0", "nat_gateway_id": nat.id}], tags=args.tags, opts=child)
        for i in range(args.zone_count):
            zone = zones.apply(_nth(i))
            private = ec2.Subnet(f"{name}-private-{i}", vpc_id=vpc.id, availability_zone=zone,
                                     cidr_block=_subnet_cidr(args.cidr, i + 8),
                                     tags={**args.tags, **shared, "kubernetes.io/role/internal-elb": "1",
                                           "Name": f"{args.cluster_name}-private-{i}"},
                                     opts=child)
            ec2.RouteTableAssociation(f"{name}-private-{i}-rta", subnet_id=private.id, route_table_id=private_rt.id, opts=child)
            privates.append(private)
        self.vpc_id = vpc.id
        self.private_subnet_ids = pulumi.Output.all(*[s.id for s in privates]).apply(list)
        self.register_outputs({"vpc_id": self.vpc_id, "private_subnet_ids": self.private_subnet_ids})
