-- The database every bolservice instance shares (docs/DEPLOY.md). Run once, as a
-- superuser: psql -v ON_ERROR_STOP=1 -f deploy/postgres-setup.sql
-- The role owns its database, so the first instance to start can create the schema
-- `bolservice` and its tables there; nothing else is needed.
CREATE ROLE bolservice LOGIN PASSWORD 'change-me';
CREATE DATABASE bolservice OWNER bolservice ENCODING 'UTF8' TEMPLATE template0;
