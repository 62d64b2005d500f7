-- Runs once, when the PostgreSQL volume is created. The Kafka profile's services use the
-- database orderflow; the NATS profile's use orderflow_nats, so that each database matches
-- its broker's log. Every service keeps its tables in a schema of its own.
CREATE DATABASE orderflow_nats OWNER orderflow;
