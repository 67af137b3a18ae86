-- The streets layer: everyone's names and lines of the road segments (layers.toml, drawn_from),
-- which the search now finds a street in, one answer per name, for every role. Its table is
-- the roads', so nothing is created: the entries the search kept under the staff's road
-- condition layer move to it (the migrator then rebuilds every layer's entries).
UPDATE search_entry SET layer = 'streets' WHERE layer = 'roads';
