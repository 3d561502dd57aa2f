-- A review's people in name order, all of them or those still to decide, read from an index
-- instead of sorting the review's rows for every page of the review.
CREATE INDEX access_review_items_by_name ON access_review_items (review_id, last_name, first_name, user_id);
CREATE INDEX access_review_items_undecided ON access_review_items (review_id, last_name, first_name, user_id)
  WHERE decision IS NULL;
