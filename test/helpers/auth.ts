import * as grpc from "@grpc/grpc-js";
import { AuthServiceClient, Verb, type Role, type Token } from "../../src/gen/ctm/v1/auth_service.js";
import { call, tokenMetadata } from "./client.js";

export const bearer = (token: string): grpc.Metadata => tokenMetadata(token);

/** AuthService for tests, as one token. */
export class AuthApi {
  readonly client: InstanceType<typeof AuthServiceClient>;

  constructor(
    address: string,
    private readonly token: string,
  ) {
    this.client = new AuthServiceClient(address, grpc.credentials.createInsecure());
  }

  async setRole(role: { name: string; grants: { verbs: Verb[]; keys: string[]; environments?: string[] }[]; members?: string[] }): Promise<void> {
    const r: Role = { name: role.name, grants: role.grants.map((g) => ({ environments: [], ...g })), members: role.members ?? [], description: "" };
    await call(this.client.setRole.bind(this.client), { role: r, author: "test", message: "", expectedVersion: undefined }, bearer(this.token));
  }

  async createToken(name: string, roles: string[], expiresAt?: Date): Promise<string> {
    const r = await call(this.client.createToken.bind(this.client), { name, roles, expiresAt, author: "test", message: "" }, bearer(this.token));
    return r.secret;
  }

  async revokeToken(token: string): Promise<void> {
    await call(this.client.revokeToken.bind(this.client), { token, author: "test", message: "" }, bearer(this.token));
  }

  async listTokens(): Promise<Token[]> {
    return (await call(this.client.listTokens.bind(this.client), {}, bearer(this.token))).tokens;
  }

  close(): void {
    this.client.close();
  }
}
