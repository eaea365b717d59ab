-- A request type's categories (the services or areas it covers: tills, printers, the network),
-- a JSON list of names: a request of the type is filed under one of them, and routing rules
-- and SLA policies may ask for it.
ALTER TABLE request_types ADD COLUMN categories TEXT NOT NULL DEFAULT '[]';
