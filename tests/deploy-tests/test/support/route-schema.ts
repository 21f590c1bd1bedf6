/**
 * JSON Schema of an OpenShift Route (route.openshift.io/v1), written from the Route API
 * reference (openshift/api route/v1 types.go and its CRD) because no npm package ships it. It
 * covers the fields a Route may set with their types and enums, and is strict: unknown fields
 * are errors, as they are for `oc apply` with server-side field validation.
 */
export const routeSchema = {
  type: 'object',
  required: ['apiVersion', 'kind', 'metadata', 'spec'],
  additionalProperties: false,
  properties: {
    apiVersion: { const: 'route.openshift.io/v1' },
    kind: { const: 'Route' },
    metadata: {
      type: 'object',
      required: ['name'],
      properties: {
        name: { type: 'string', pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', maxLength: 63 },
        namespace: { type: 'string' },
        labels: { type: 'object', additionalProperties: { type: 'string' } },
        annotations: { type: 'object', additionalProperties: { type: 'string' } },
      },
      additionalProperties: false,
    },
    spec: {
      type: 'object',
      required: ['to'],
      additionalProperties: false,
      properties: {
        host: {
          type: 'string',
          maxLength: 253,
          pattern:
            '^([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9\\-]{0,61}[a-zA-Z0-9])(\\.([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9\\-]{0,61}[a-zA-Z0-9]))*$',
        },
        subdomain: { type: 'string', maxLength: 253 },
        path: { type: 'string', pattern: '^/' },
        to: { $ref: '#/$defs/targetReference' },
        alternateBackends: { type: 'array', maxItems: 3, items: { $ref: '#/$defs/targetReference' } },
        port: {
          type: 'object',
          required: ['targetPort'],
          additionalProperties: false,
          properties: { targetPort: { anyOf: [{ type: 'integer' }, { type: 'string', minLength: 1 }] } },
        },
        tls: {
          type: 'object',
          required: ['termination'],
          additionalProperties: false,
          properties: {
            termination: { enum: ['edge', 'reencrypt', 'passthrough'] },
            insecureEdgeTerminationPolicy: { enum: ['Allow', 'None', 'Redirect', ''] },
            certificate: { type: 'string' },
            key: { type: 'string' },
            caCertificate: { type: 'string' },
            destinationCACertificate: { type: 'string' },
            externalCertificate: {
              type: 'object',
              properties: { name: { type: 'string' } },
              additionalProperties: false,
            },
          },
        },
        wildcardPolicy: { enum: ['None', 'Subdomain', ''] },
        httpHeaders: { type: 'object' },
      },
    },
  },
  $defs: {
    targetReference: {
      type: 'object',
      required: ['kind', 'name'],
      additionalProperties: false,
      properties: {
        kind: { enum: ['Service', ''] },
        name: { type: 'string', minLength: 1 },
        weight: { type: 'integer', minimum: 0, maximum: 256 },
      },
    },
  },
} as const;
