"""Amazon Bedrock Converse: ``translate`` (pure), ``client`` and ``boto`` (boto3 plumbing)."""
