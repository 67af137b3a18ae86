-- The live feed: readings that arrive over MQTT (etl/listen.py), written a micro-batch at a
-- time. A batch's readings carry an id from the catalogue's own sequence, like a file load's,
-- so one watermark orders both for the dashboards' cache; the batch is recorded here rather
-- than in the catalogue, which lists what people loaded (a feed commits one batch a second).

CREATE TABLE feed_batch (
    id integer PRIMARY KEY,
    layer text NOT NULL,
    messages integer NOT NULL,
    readings integer NOT NULL,
    refused integer NOT NULL,
    first_received_at timestamptz NOT NULL,
    newest_observed_at timestamptz,
    committed_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX feed_batch_time_idx ON feed_batch (layer, committed_at DESC);
COMMENT ON TABLE feed_batch IS 'Paketi meritev iz žive povezave / micro-batches of the live feed; sensor_reading.load_id = id';

-- Each feed's newest batch and its totals, one row a layer, updated by each batch: what the
-- cache's watermark, /health and the wall read without going through the batches.
CREATE TABLE feed_state (
    layer text PRIMARY KEY,
    newest_batch integer NOT NULL,
    committed_at timestamptz NOT NULL,
    messages bigint NOT NULL,
    readings bigint NOT NULL,
    refused bigint NOT NULL
);
COMMENT ON TABLE feed_state IS 'Stanje žive povezave / the live feed: newest batch and totals per layer';

-- What the ingest refused, with why: a message it could not read, or a reading of one that
-- failed a check. The payload is kept up to 4 kB (a 10 MB message is not stored whole).
CREATE TABLE feed_dead_letter (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    layer text NOT NULL,
    received_at timestamptz NOT NULL,
    topic text NOT NULL,
    reason text NOT NULL,
    payload text NOT NULL,
    payload_bytes integer NOT NULL
);
CREATE INDEX feed_dead_letter_time_idx ON feed_dead_letter (received_at DESC);
COMMENT ON TABLE feed_dead_letter IS 'Zavrnjena sporočila in meritve žive povezave / what the live feed refused, and why';

COMMENT ON TABLE sensor_reading IS 'Meritve senzorjev / sensor readings; load_id = dataset_load.id or feed_batch.id';
