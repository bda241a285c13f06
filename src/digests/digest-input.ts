/** What a digest render is given: the digest, its recipient and its papers (best first by rank). */

/** One paper of a digest as the send pipeline and the view page read it. */
export interface DigestPaper {
  /** The paper's id: lets a batch render fill this paper once for all its digests. */
  id?: number;
  rank: number;
  title: string;
  abstract: string;
  authors: string[];
  upvotes: number;
  arxivUrl: string;
  pdfUrl: string;
  hfUrl: string | null;
  githubRepo: string | null;
  projectPage: string | null;
  aiSummary: string | null;
  matchedTopics: string[];
  matchedWords: string[];
  /** The listing day the paper is from (YYYY-MM-DD), shown in the digest's header. */
  listingDay?: string;
  /** Set when the paper is in the digest because it is trending: its upvotes when the digest was planned. */
  trending?: number | null | undefined;
}

export interface DigestRecipient {
  subscriberId: number;
  tokenVersion: number;
  /** The subscriber's feed_version: with it the footer links their own Atom feed. */
  feedVersion?: number | undefined;
  email: string;
  frequency: "daily" | "weekly";
  timezone: string;
}

export interface DigestInput {
  digestId: number;
  /** The local date that starts the digest's period, YYYY-MM-DD. */
  period: string;
  recipient: DigestRecipient;
  papers: DigestPaper[];
  /**
   * An operator's test digest (admin page): it belongs to no subscription, so it says
   * so and links to the signup page instead of manage/unsubscribe/view links, which
   * would carry tokens for nobody.
   */
  test?: boolean;
}
