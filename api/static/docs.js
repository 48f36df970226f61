// Swagger UI served from the app itself (no CDN), started from a file so the CSP can forbid inline script.
window.ui = SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true });
