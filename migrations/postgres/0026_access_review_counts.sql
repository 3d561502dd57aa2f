-- How many people a review lists, how many have been decided on and how many removed, kept on the
-- review with each decision, so that a review page does not count its people on every request.
ALTER TABLE access_reviews ADD COLUMN people BIGINT NOT NULL DEFAULT 0;
ALTER TABLE access_reviews ADD COLUMN decided BIGINT NOT NULL DEFAULT 0;
ALTER TABLE access_reviews ADD COLUMN removed BIGINT NOT NULL DEFAULT 0;
UPDATE access_reviews SET
    people  = (SELECT COUNT(*) FROM access_review_items i WHERE i.review_id = access_reviews.id),
    decided = (SELECT COUNT(*) FROM access_review_items i
               WHERE i.review_id = access_reviews.id AND i.decision IS NOT NULL),
    removed = (SELECT COUNT(*) FROM access_review_items i
               WHERE i.review_id = access_reviews.id AND i.decision = 'remove');
