import type { SupportedLanguages } from "../shared/localisation.ts";
import { presentTranslations } from "../shared/translations.ts";
import type { AdminCategory } from "./model.ts";
import type { CategoryWithCount } from "./service.ts";

/** The admin's view of a category: its default name, its translations and how many videos it files. */
export function presentAdminCategory(
  supportedLanguages: SupportedLanguages,
  { category, videoCount }: CategoryWithCount,
): AdminCategory {
  return {
    id: category.id,
    name: category.name,
    translations: presentTranslations(category.translations, supportedLanguages),
    video_count: videoCount,
    created_at: category.createdAt.toISOString(),
  };
}
