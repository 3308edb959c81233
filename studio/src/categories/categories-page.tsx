// The categories: every one with how many videos are filed under it; create, rename in place, delete
// behind a confirmation (refused with the api's reason while videos use it).
import "./categories.css";
import { useEffect, useRef, useState } from "react";
import type { ApiClient } from "../api/http.ts";
import type { AdminCategory } from "../api/types.ts";
import { CategoryRow } from "./category-row.tsx";
import { isGone, neighbourOf } from "./category-rules.ts";
import { CreateCategory } from "./create-category.tsx";
import { DeleteCategory } from "./delete-category.tsx";
import { useCategories } from "./use-categories.ts";

export function CategoriesPage({ api }: { api: ApiClient }) {
  const categories = useCategories(api);
  const [deleting, setDeleting] = useState<AdminCategory | null>(null);
  const [announcement, setAnnouncement] = useState("");
  const { state } = categories;
  // Where the keyboard goes once a row left (its buttons with it): the next row's Delete, or the form.
  const [focusAfterRemoval, setFocusAfterRemoval] = useState<{ id: number | null } | null>(null);
  const pageRef = useRef<HTMLElement>(null);
  const listed = state.status === "ready" ? state.categories : [];
  const leaving = (id: number) => setFocusAfterRemoval({ id: neighbourOf(listed, id) });

  // After the delete dialog closed (its close would put the focus back on the row that is gone).
  useEffect(() => {
    if (!focusAfterRemoval || deleting) return;
    const page = pageRef.current;
    const target =
      focusAfterRemoval.id === null
        ? page?.querySelector<HTMLElement>("#new-category-name")
        : page?.querySelector<HTMLElement>(
            `tr[data-category-id="${focusAfterRemoval.id}"] .cell-actions button.button-danger-quiet`,
          );
    (target ?? page?.querySelector<HTMLElement>("#new-category-name"))?.focus();
    setFocusAfterRemoval(null);
  }, [focusAfterRemoval, deleting]);

  return (
    <main className="page page-narrow" id="main" ref={pageRef}>
      <div className="page-header">
        <div>
          <h1>Categories</h1>
          <p className="page-lede">How the library is filed: every category and how many videos it holds.</p>
        </div>
      </div>
      <div className="create-panel">
        <CreateCategory
          onCreate={categories.create}
          onCreated={(category) => setAnnouncement(`Created the category “${category.name}”.`)}
        />
      </div>
      <p className="action-status" role="status">
        {announcement}
      </p>
      <section className="table-card" aria-label="Categories" aria-busy={state.status === "loading"}>
        {state.status === "error" ? (
          <div className="empty empty-error" role="alert">
            <h2>The categories could not be loaded</h2>
            <p>{state.error}</p>
            <button type="button" className="button" onClick={categories.reload}>
              Try again
            </button>
          </div>
        ) : state.status === "loading" ? (
          <div className="empty empty-loading">
            <p>Loading the categories…</p>
          </div>
        ) : state.categories.length === 0 ? (
          <div className="empty">
            <h2>No categories yet</h2>
            <p>
              Create one above, or name one in the upload form: it is made with the first video filed under
              it.
            </p>
          </div>
        ) : (
          <table className="data-table categories-table">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Videos</th>
                <th scope="col">Created</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {state.categories.map((category) => (
                <CategoryRow
                  key={category.id}
                  category={category}
                  onRename={async (name) => {
                    try {
                      const renamed = await categories.rename(category.id, name);
                      setAnnouncement(`Renamed “${category.name}” to “${renamed.name}”.`);
                    } catch (error) {
                      // Deleted elsewhere: its row goes, so the reason goes to the status line.
                      if (isGone(error)) {
                        leaving(category.id);
                        setAnnouncement(`“${category.name}” is gone: someone deleted it meanwhile.`);
                      }
                      throw error;
                    }
                  }}
                  onDelete={() => setDeleting(category)}
                />
              ))}
            </tbody>
          </table>
        )}
      </section>
      <DeleteCategory
        category={deleting}
        onFetch={categories.fetchOne}
        onFetched={categories.refresh}
        onDelete={async (category) => {
          const neighbour = neighbourOf(listed, category.id);
          await categories.remove(category.id);
          setFocusAfterRemoval({ id: neighbour });
          setAnnouncement(`Deleted the category “${category.name}”.`);
        }}
        onRefused={(category, refusal) => {
          if (refusal.gone) {
            leaving(category.id);
            categories.forget(category.id);
          } else if (refusal.videoCount !== null) categories.setVideoCount(category.id, refusal.videoCount);
        }}
        onClose={() => setDeleting(null)}
      />
    </main>
  );
}
