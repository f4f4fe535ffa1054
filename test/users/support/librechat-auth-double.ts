import http from 'node:http';
import bcrypt from 'bcryptjs';
import express from 'express';
import type mongoose from 'mongoose';

/**
 * LibreChat's two auth endpoints as documented (reference: librechat-integration.md "Auth and users"), on LibreChat's
 * real User model: register answers an existing email with the same 200 as a success, validation failures with
 * 404, a disabled registration with 403, the per-IP limiter with 429 (+ Retry-After); login answers 404 for an
 * unknown user, 422 for a wrong password, 200 {token, user} otherwise.
 */
export interface AuthDoubleOptions {
  allowRegistration?: boolean;
  registerMax?: number;
  registerWindowSeconds?: number;
}

export async function startAuthDouble(User: mongoose.Model<any>, options: AuthDoubleOptions = {}) {
  const app = express();
  app.use(express.json());
  const settings = { allowRegistration: true, registerMax: 1000, registerWindowSeconds: 3600, ...options };
  let windowStart = Date.now();
  let registrations = 0;
  const calls = { register: 0, login: 0, limited: 0 };

  app.get('/health', (_req, res) => {
    res.status(200).send('OK');
  });

  app.post('/api/auth/register', async (req, res) => {
    calls.register += 1;
    if (Date.now() - windowStart > settings.registerWindowSeconds * 1000) {
      windowStart = Date.now();
      registrations = 0;
    }
    if (registrations >= settings.registerMax) {
      calls.limited += 1;
      const reset = Math.max(1, Math.ceil((windowStart + settings.registerWindowSeconds * 1000 - Date.now()) / 1000));
      res.set('Retry-After', String(reset)).status(429).json({ message: 'Too many accounts created, please try again after 60 minutes' });
      return;
    }
    registrations += 1;
    if (!settings.allowRegistration) {
      res.status(403).json({ message: 'Registration is not allowed.' });
      return;
    }
    const { name, username, email, password, confirm_password: confirm } = req.body ?? {};
    const valid =
      typeof name === 'string' && name.length >= 3 && name.length <= 80 &&
      typeof email === 'string' && /\S+@\S+\.\S+/.test(email) &&
      typeof password === 'string' && password.length >= 8 && password.length <= 128 && password === confirm;
    if (!valid) {
      res.status(404).json({ message: 'Invalid registration data' });
      return;
    }
    const existing = await User.findOne({ email: email.toLowerCase() }).lean();
    if (!existing) {
      await User.create({
        name,
        username,
        email: email.toLowerCase(),
        password: await bcrypt.hash(password, 10),
        provider: 'local',
        role: 'USER',
        emailVerified: true,
      });
    }
    res.status(200).json({ message: 'If an account with that email exists, a verification email has been sent.' });
  });

  app.post('/api/auth/login', async (req, res) => {
    calls.login += 1;
    const { email, password } = req.body ?? {};
    const user = await User.findOne({ email: String(email).toLowerCase() }).select('+password').lean<Record<string, any>>();
    if (!user) {
      res.status(404).json({ message: 'Email does not exist' });
      return;
    }
    if (!user.password || !(await bcrypt.compare(String(password), user.password))) {
      res.status(422).json({ message: 'Incorrect password.' });
      return;
    }
    res.status(200).json({ token: 'jwt', user: { id: String(user._id), email: user.email, name: user.name } });
  });

  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    settings,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
