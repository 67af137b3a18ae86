// Draws the features a page carries (the map's data-features, GeoJSON) on a Leaflet map. No tiles
// unless the server has a basemap configured: the default works offline, as the dashboards do.
(() => {
  const holder = document.getElementById("items-map");
  const features = JSON.parse(holder.dataset.features);
  const map = L.map(holder);
  if (holder.dataset.tiles) {
    L.tileLayer(holder.dataset.tiles, { maxZoom: 19 }).addTo(map);
  }
  const link = (feature) => {
    const a = document.createElement("a");
    a.href = `${holder.dataset.items}/${encodeURIComponent(feature.id)}?f=html`;
    a.textContent = feature.id;
    return a;
  };
  const drawn = L.geoJSON(features, {
    style: { color: "#1f5f8b", weight: 2, fillOpacity: 0.15 },
    pointToLayer: (_feature, at) => L.circleMarker(at, { radius: 5 }),
    onEachFeature: (feature, layer) => layer.bindPopup(() => link(feature)),
  }).addTo(map);
  map.fitBounds(drawn.getBounds(), { maxZoom: 17 });
})();
