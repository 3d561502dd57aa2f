// A real OpenID Connect provider (the `oidc-provider` package, certified by the OpenID
// Foundation) for the single sign-on tests: `node provider.mjs <port> <redirect-uri>[,<uri>…]`.
// Its development login form takes any login name as the person's email; the password is not
// checked. Two clients are registered: `portal` (secret `portal-secret`) and `other`
// (`other-secret`), both allowed to send people back to the given URIs. A login name starting with
// `unverified` gets `email_verified: false`. With CLOCK_BEHIND_SECONDS and a short ID_TOKEN_TTL
// the provider's clock runs that far behind, so its ID tokens have expired when the portal reads
// them.
import Provider from 'oidc-provider';

const [port, redirects] = [Number(process.argv[2]), process.argv[3].split(',')];
const behind = Number(process.env.CLOCK_BEHIND_SECONDS || 0) * 1000;
if (behind) {
  const now = Date.now;
  Date.now = () => now() - behind;
}
const client = (id, secret) => ({
  client_id: id,
  client_secret: secret,
  redirect_uris: redirects,
  grant_types: ['authorization_code'],
  response_types: ['code'],
});
const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [client('portal', 'portal-secret'), client('other', 'other-secret')],
  findAccount: async (_ctx, id) => ({
    accountId: id,
    claims: async () => ({ sub: id, email: id, email_verified: !id.startsWith('unverified') }),
  }),
  claims: { openid: ['sub'], email: ['email', 'email_verified'] },
  pkce: { required: () => true },
  ttl: { IdToken: Number(process.env.ID_TOKEN_TTL || 3600) },
});
provider.listen(port, '127.0.0.1', () => console.log(`ready on ${port}`));
