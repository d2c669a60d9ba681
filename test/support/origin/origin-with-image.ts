/**
 * The start most pull tests share: a rig origin (origin-stack.ts) holding one tagged image, pushed as
 * the pusher. If the push fails the origin is stopped again, so a failed `before` leaves nothing running.
 */
import type { LayerSpec } from "../images/layers.ts";
import { pushImage, type PushedImage } from "../images/push.ts";
import { startOrigin, type Origin, type OriginOptions } from "./origin-stack.ts";

export interface OriginWithImage {
  readonly origin: Origin;
  /** `<repo>:v1`; repo `team-a/app` unless told (alice may pull it, bob may not). */
  readonly image: PushedImage;
}

export async function startOriginWithImage(
  layers: LayerSpec[],
  opts: { repo?: string; origin?: OriginOptions } = {},
): Promise<OriginWithImage> {
  const origin = await startOrigin(opts.origin);
  try {
    const image = await pushImage(origin.pushClient(), {
      repo: opts.repo ?? "team-a/app",
      tag: "v1",
      layers,
    });
    return { origin, image };
  } catch (err) {
    await origin.stop();
    throw err;
  }
}
