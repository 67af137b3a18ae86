-- The hourly means of the air-quality sensors' readings: what the public gets of the readings
-- (the OGC API's air-quality collection, through the open view made from the registry), never
-- a raw reading, and nothing of a sensor in a home. Kept by the ETL with every stored batch of
-- readings, a load's or the live feed's (etl.readings.insert_staged): the hours of the batch's
-- sensors from its earliest reading on are computed again whole, so a late reading is counted.
-- `kind` is the sensor's when its mean was taken: a sensor since given another kind is in no
-- open view of these.
CREATE TABLE air_quality_hour (
    sensor_id integer NOT NULL,
    hour timestamptz NOT NULL,
    kind text NOT NULL,
    mean real NOT NULL,
    readings integer NOT NULL,
    PRIMARY KEY (sensor_id, hour)
);
CREATE INDEX air_quality_hour_hour_idx ON air_quality_hour (hour);
COMMENT ON TABLE air_quality_hour IS 'Urna povprečja meritev kakovosti zraka / hourly means of the air-quality readings';
