"""AWS region names as this emulator knows them: one endpoint serves every region, and the
native services keep each region's resources apart (a request's region is its SigV4 scope's)."""

from __future__ import annotations

import re

# The regions offered where a list is shown (EC2 DescribeRegions, the console's switch); any
# well-formed name works in requests.
REGIONS = ("us-east-1", "us-east-2", "us-west-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-northeast-1", "ap-southeast-1")

# A region's name: us-east-1, eu-central-2, us-gov-west-1, ap-southeast-4, ...
REGION_RE = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")
