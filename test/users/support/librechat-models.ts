import mongoose from 'mongoose';
import { createModels } from '@librechat/data-schemas';

/** LibreChat's real User model (from @librechat/data-schemas) on a dedicated connection to one test database. */
export async function librechatUserModel(url: string): Promise<{ User: mongoose.Model<any>; connection: mongoose.Connection }> {
  // autoIndex off: LibreChat's other models declare TTL indexes the Mongo-wire test server refuses (log noise);
  // the users index the provisioner relies on is created by the provisioner itself.
  const connection = mongoose.createConnection(url, { serverSelectionTimeoutMS: 10_000, autoIndex: false });
  await connection.asPromise();
  // createModels registers on whatever has .model()/.models: a Connection keeps these models off the global mongoose.
  const models = createModels(connection as unknown as typeof mongoose) as unknown as { User: mongoose.Model<any> };
  return { User: models.User, connection };
}
