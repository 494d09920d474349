-- An invitation may finish one account: the user a member invite created without a password. Only such an
-- invite lets POST /v1/users/register set a password on an existing user; any other invite meets an
-- existing email with 409, so no invite can take over an account that signs in another way (SSO, JWT).
ALTER TABLE invites ADD COLUMN user_id uuid REFERENCES users (id) ON DELETE CASCADE;
