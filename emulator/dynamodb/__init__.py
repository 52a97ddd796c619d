"""Native DynamoDB: storage engines, the document logic and expressions."""
