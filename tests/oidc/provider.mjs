// A real, certified OpenID Connect provider (npm oidc-provider) for the sign-in tests.
// usage: node tests/oidc/provider.mjs PORT   with env OIDC_REDIRECT_URI, OIDC_CLIENT_SECRET and
// OIDC_ACCOUNTS='{"ana": {"roles": ["BSol.Analyst"], "locality": "North"}, ...}'.
// Sign-in goes through the provider's own development login + consent pages (any password).
import Provider from 'oidc-provider';

const port = Number(process.argv[2]);
const accounts = JSON.parse(process.env.OIDC_ACCOUNTS || '{}');
const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [{
    client_id: 'bsol-dashboard',
    client_secret: process.env.OIDC_CLIENT_SECRET,
    redirect_uris: [process.env.OIDC_REDIRECT_URI],
    grant_types: ['authorization_code'],
    response_types: ['code'],
  }],
  claims: { openid: ['sub'], profile: ['preferred_username', 'roles', 'locality'] },
  conformIdTokenClaims: false, // put the profile claims in the ID token, as Entra ID does for roles
  pkce: { required: () => true },
  cookies: { keys: ['test-only-cookie-key-not-a-secret'] },
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() { return { sub: id, preferred_username: id, ...(accounts[id] || {}) }; },
    };
  },
});
provider.listen(port, '127.0.0.1', () => console.log(`oidc-provider listening on ${port}`));
