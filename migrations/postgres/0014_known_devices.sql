-- Browsers a user signed in from before (a cookie holding a random id, stored here hashed):
-- wrong passwords from strangers cannot lock the owner out of a browser she already used.
CREATE TABLE known_devices (
    token_hash  TEXT NOT NULL,
    user_id     BIGINT NOT NULL REFERENCES users(id),
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (token_hash, user_id)
);
