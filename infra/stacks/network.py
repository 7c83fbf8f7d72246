"""The network MWAA needs: a VPC over two availability zones with two private subnets (MWAA's
schedulers and workers) whose egress goes through NAT (``nat_gateways``, 1 by default to save
cost), VPC flow logs, and the environment's self-referencing security group.

Not created when the context gives an existing network (``-c vpc_id=... -c subnet_ids=a,b
-c security_group_id=sg-...``): the MWAA stack then uses those."""
from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.stacks.common import Context, skip


class NetworkStack(cdk.Stack):
    def __init__(self, scope: Construct, id_: str, *, ctx: Context, **kw) -> None:
        super().__init__(scope, id_, description="aqicast: VPC with two private subnets and NAT for MWAA", **kw)
        self.vpc = ec2.Vpc(self, "Vpc", max_azs=2, nat_gateways=ctx.nat_gateways, restrict_default_security_group=False,
                           subnet_configuration=[
                               ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24,
                                                       map_public_ip_on_launch=False),
                               ec2.SubnetConfiguration(name="private", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS,
                                                       cidr_mask=20)])
        flow_logs = logs.LogGroup(self, "FlowLogs", retention=logs.RetentionDays.THREE_MONTHS,
                                  removal_policy=cdk.RemovalPolicy.DESTROY)
        skip(flow_logs, "CKV_AWS_158")
        self.vpc.add_flow_log("FlowLog", destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_logs),
                              traffic_type=ec2.FlowLogTrafficType.REJECT)
        self.security_group = ec2.SecurityGroup(self, "MwaaSecurityGroup", vpc=self.vpc, allow_all_outbound=True,
                                                description="aqicast MWAA: its own components talk to each other")
        self.security_group.add_ingress_rule(self.security_group, ec2.Port.all_traffic(), "MWAA components")
        self.private_subnet_ids = [s.subnet_id for s in self.vpc.private_subnets]
        cdk.CfnOutput(self, "VpcId", value=self.vpc.vpc_id)
        cdk.CfnOutput(self, "PrivateSubnetIds", value=cdk.Fn.join(",", self.private_subnet_ids))
        cdk.CfnOutput(self, "SecurityGroupId", value=self.security_group.security_group_id)
