-- Sensors and their readings, built for tens of millions of readings.
--
-- A reading is 16 bytes of data (time, sensor, value, load): no geometry per reading. Every
-- reading of a sensor is at the sensor's place, so the place is joined in from `sensor` (a few
-- hundred rows) when needed; a copied point would add 32 bytes to each of the 48 a row takes.
-- Readings are appended in time order, so a BRIN index on the time (a few kB for millions of
-- rows) narrows a time window to the blocks that hold it; `load_id` (the catalogue row of the
-- load that brought a reading) is the watermark the dashboards' cache tops up from.

CREATE TABLE sensor_key (
    id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code text NOT NULL UNIQUE
);
COMMENT ON TABLE sensor_key IS 'Stalna številka vsakega senzorja / a sensor keeps its number across reloads of the sensor layer';

CREATE TABLE sensor (
    id integer PRIMARY KEY,
    code text NOT NULL UNIQUE,
    kind text NOT NULL,
    unit text NOT NULL,
    installed date,
    status text NOT NULL CHECK (status IN ('deluje', 'v okvari', 'odstranjen')),
    geom geometry(Point, 3794) NOT NULL
);
CREATE INDEX sensor_geom_idx ON sensor USING gist (geom);
COMMENT ON TABLE sensor IS 'Senzorji / sensors (air, noise, water quality, parking, waste containers, energy)';

-- The ETL replaces the sensor layer like any other; a sensor's number comes from its code, so the
-- readings already loaded stay with their sensor.
CREATE FUNCTION sensor_keep_id() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO sensor_key (code) VALUES (NEW.code) ON CONFLICT (code) DO NOTHING;
    SELECT id INTO NEW.id FROM sensor_key WHERE code = NEW.code;
    RETURN NEW;
END
$$;
CREATE TRIGGER sensor_keep_id BEFORE INSERT ON sensor
    FOR EACH ROW EXECUTE FUNCTION sensor_keep_id();

CREATE TABLE sensor_reading (
    observed_at timestamptz NOT NULL,
    sensor_id integer NOT NULL,
    value real NOT NULL,
    load_id integer NOT NULL
);
CREATE INDEX sensor_reading_time_brin ON sensor_reading USING brin (observed_at);
CREATE INDEX sensor_reading_load_brin ON sensor_reading USING brin (load_id);
COMMENT ON TABLE sensor_reading IS 'Meritve senzorjev / sensor readings; load_id = dataset_load.id';

-- Readings where they were taken: what the layer registry and the plain SQL path read.
CREATE VIEW sensor_reading_located AS
SELECT r.sensor_id AS id, s.code AS sensor, s.kind, s.unit, r.observed_at, r.value, s.geom
  FROM sensor_reading r JOIN sensor s ON s.id = r.sensor_id;
