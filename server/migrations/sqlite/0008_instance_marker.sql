-- #21: one row once a server has bootstrapped this database. A database
-- with the row and no org was emptied (or restored wrong): the start stops
-- instead of bootstrapping afresh. The SQLite data dir's `initialized` file
-- says the same from outside the database.
CREATE TABLE sigil_instance (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    initialized_at BIGINT NOT NULL
);
