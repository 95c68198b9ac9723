"""The sandbox's Salesforce side: login, REST, Bulk API 2.0 and Tooling on one host:port."""
