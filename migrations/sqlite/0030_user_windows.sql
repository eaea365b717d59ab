-- The windows a user may sit at; none listed: any window of the branches they work in. (The
-- services they may serve at a window are their skills among the branch's visit services.)
CREATE TABLE user_windows (
    user_id    BIGINT NOT NULL REFERENCES users(id),
    window_id  BIGINT NOT NULL REFERENCES windows(id),
    PRIMARY KEY (user_id, window_id)
);
