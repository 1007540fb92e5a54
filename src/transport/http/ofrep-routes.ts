import { systemClock, type Clock } from "../../domain/clock.js";
import type { ConfigService } from "../../service/config-service.js";
import type { HttpChain } from "./http-chain.js";
import type { Route } from "./http-face.js";
import { OfrepEvents } from "./ofrep-events.js";
import { OfrepRoute } from "./ofrep-route.js";
import { OfrepTickets } from "./ofrep-tickets.js";

/** OFREP's evaluations and its change-notification stream, sharing the tickets one issues and the other redeems. */
export function ofrepRoutes(config: ConfigService, chain: HttpChain, clock: Clock = systemClock): Route[] {
  const tickets = new OfrepTickets(clock);
  return [new OfrepRoute(config, chain, tickets, clock), new OfrepEvents(config, chain, tickets)];
}
