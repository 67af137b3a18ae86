// Swagger UI on the document the page names, with its own layout (no top bar to another URL).
window.addEventListener("load", () => {
  const holder = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: holder.dataset.document,
    domNode: holder,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: "BaseLayout",
  });
});
