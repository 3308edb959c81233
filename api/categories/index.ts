import { Elysia, t } from "elysia";
import type { authPlugin } from "../auth/plugin.ts";
import type { Config } from "../config/load.ts";
import { refuseUnknownFields } from "../http/editable-fields.ts";
import { ErrorBody } from "../http/errors.ts";
import { refuseTranslationsNotAnObject } from "../shared/translations.ts";
import { CategoryModel } from "./model.ts";
import { presentAdminCategory } from "./presenter.ts";
import { CATEGORY_TRANSLATED_FIELDS, type CategoryAdminService } from "./service.ts";

const adminErrors = { 401: ErrorBody, 403: ErrorBody } as const;
const CREATABLE = new Set(Object.keys(CategoryModel.createBody.properties));
const PATCHABLE = new Set(Object.keys(CategoryModel.patchBody.properties));

/** Admin endpoints for categories (`{ admin: true }`): names and their translations. */
export function categoryAdminRoutes(deps: {
  services: { categoryAdmin: CategoryAdminService };
  auth: ReturnType<typeof authPlugin>;
  config: Pick<Config, "supportedLanguages">;
}) {
  const service = deps.services.categoryAdmin;
  const present = (row: Awaited<ReturnType<typeof service.get>>) =>
    presentAdminCategory(deps.config.supportedLanguages, row);

  return new Elysia({ name: "category-admin", detail: { tags: ["Admin: categories"] } })
    .use(deps.auth)
    .get("/api/admin/categories", async () => (await service.list()).map(present), {
      admin: true,
      response: { 200: t.Array(CategoryModel.adminCategory), ...adminErrors },
      detail: { summary: "Every category, with or without videos, alphabetical" },
    })
    .post(
      "/api/admin/categories",
      async ({ body, set, user }) => {
        const created = await service.create(user, body);
        set.status = 201;
        return present(created);
      },
      {
        admin: true,
        transform: ({ body }) => {
          refuseUnknownFields(body, CREATABLE);
          refuseTranslationsNotAnObject(body, CATEGORY_TRANSLATED_FIELDS);
        },
        body: CategoryModel.createBody,
        // Names the body's schema in the OpenAPI document (the api's own JSON parser still reads it).
        parse: "json",
        response: { 201: CategoryModel.adminCategory, 400: ErrorBody, 409: ErrorBody, ...adminErrors },
        detail: {
          summary: "Create a category, with its translations",
          description:
            "Uploads create categories by name too; this one may start with translations. 409 when the name exists in any letter case. 400 names the field at fault (`translations.fr`, `translations.de.name`).",
        },
      },
    )
    .get("/api/admin/categories/:id", async ({ params }) => present(await service.get(params.id)), {
      admin: true,
      params: CategoryModel.idParams,
      response: { 200: CategoryModel.adminCategory, 404: ErrorBody, ...adminErrors },
      detail: { summary: "One category with its translations" },
    })
    .patch(
      "/api/admin/categories/:id",
      async ({ params, body, user }) => present(await service.update(user, params.id, body)),
      {
        admin: true,
        params: CategoryModel.idParams,
        transform: ({ body }) => {
          refuseUnknownFields(body, PATCHABLE);
          refuseTranslationsNotAnObject(body, CATEGORY_TRANSLATED_FIELDS);
        },
        body: CategoryModel.patchBody,
        parse: "json",
        response: {
          200: CategoryModel.adminCategory,
          400: ErrorBody,
          404: ErrorBody,
          409: ErrorBody,
          ...adminErrors,
        },
        detail: {
          summary: "Rename a category or edit its translations",
          description:
            "Only the fields sent change; `translations` is a merge patch. Every video of the category shows the new name at once (catalogue caches drop it on every replica) and signed-in sockets get `category.updated`.",
        },
      },
    )
    .delete(
      "/api/admin/categories/:id",
      async ({ params, set, user }) => {
        await service.delete(user, params.id);
        set.status = 204;
      },
      {
        admin: true,
        params: CategoryModel.idParams,
        response: { 204: t.Void(), 404: ErrorBody, 409: ErrorBody, ...adminErrors },
        detail: {
          summary: "Delete a category no video uses",
          description:
            "409 while videos are filed under it, with `reason: in_use` and `video_count` (how many, an integer as in the list): move them to another category (`PATCH /api/admin/videos/:id`) or delete them first. Writes an audit log line, as creating and renaming do.",
        },
      },
    );
}
