// Starts Swagger UI on /docs. A file of its own, not an inline script, so the page's
// Content-Security-Policy can allow this site's scripts only.
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  deepLinking: true,
  validatorUrl: null,  // no badge fetched from a third-party validator
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
});
