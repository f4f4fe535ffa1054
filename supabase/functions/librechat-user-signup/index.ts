// Edge Function `librechat-user-signup`: receives the Database Webhook for new auth.users rows (see README.md).
import { handleSignupWebhook } from './handler.ts';

Deno.serve((request) =>
  handleSignupWebhook(request, {
    webhookSecret: Deno.env.get('LCS_WEBHOOK_SECRET'),
    syncServiceUrl: Deno.env.get('LCS_SYNC_SERVICE_URL'),
    apiToken: Deno.env.get('LCS_API_TOKEN'),
  }),
);
